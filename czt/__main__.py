from czt.cli import app

app()

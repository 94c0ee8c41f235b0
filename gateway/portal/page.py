"""The portal's one HTML page: a shell the ES modules in ``static/js`` fill in.

A plain string, not a template: nothing in it depends on the request. Every asset is served by the gateway itself
under ``/portal/static``; the Content-Security-Policy sent with the page holds the browser to that.
"""

from __future__ import annotations

STATIC = "/portal/static"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""Only the gateway's own assets and API: a stray CDN link or inline script would not even load."""

PAGE = f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>长株潭一网通办</title>
<link rel="icon" href="{STATIC}/emblem.svg" type="image/svg+xml">
<link rel="stylesheet" href="{STATIC}/portal.css">
<script type="module" src="{STATIC}/js/app.js"></script>
</head>
<body>
<a class="skip-link" href="#main" data-i18n="skip">跳到主要内容</a>
<header class="site-header">
  <div class="brand-band">
    <div class="container brand-row">
      <a class="brand" href="#/" data-testid="brand">
        <img src="{STATIC}/emblem.svg" alt="" width="44" height="44">
        <span class="brand-text">
          <span class="brand-title" data-i18n="brand.title">长株潭一网通办</span>
          <span class="brand-sub" data-i18n="brand.subtitle">长沙 · 株洲 · 湘潭 政务服务一体化平台</span>
        </span>
      </a>
      <div class="header-tools">
        <div id="who" class="who" data-testid="who"></div>
        <button type="button" id="lang-toggle" class="lang-toggle" data-testid="lang-toggle"
                lang="en" aria-label="Switch to English">EN</button>
      </div>
    </div>
  </div>
  <nav id="nav" class="main-nav" aria-label="主导航"><div class="container nav-row" id="nav-links"></div></nav>
</header>
<div class="container">
  <div id="banner" class="banner-area" aria-live="assertive" data-testid="banner"></div>
</div>
<main id="main" class="container" tabindex="-1">
  <noscript><p class="notice">本门户需要启用 JavaScript。This portal needs JavaScript.</p></noscript>
  <p class="loading" data-i18n="loading">正在加载…</p>
</main>
<div id="status" class="visually-hidden" role="status" aria-live="polite"></div>
<footer class="site-footer">
  <div class="container">
    <p data-i18n="footer.line1">长株潭一网通办数据交换沙盒 · 长沙 430100 · 株洲 430200 · 湘潭 430300</p>
    <p data-i18n="footer.line2">演示系统：所有居民与记录均为合成数据。
      每一次数据交换都经策略裁决、记入审计链，可在“谁查看了我的数据”中查到。</p>
  </div>
</footer>
</body>
</html>
"""

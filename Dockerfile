# One image for every CZT service; docker-compose.yml chooses the service with `czt serve`.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas schemas
COPY commons commons
COPY services services
COPY mock_cities mock_cities
COPY governance governance
COPY policies policies
COPY gateway gateway
COPY czt czt
COPY czt_client czt_client
COPY conformance conformance
RUN pip install --no-cache-dir .
RUN useradd --create-home czt && mkdir /data && chown czt /data
USER czt
ENV CZT_GATEWAY_DATA_DIR=/data CZT_CITY_DATA_DIR=/data

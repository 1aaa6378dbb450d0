# The MLflow tracking server of compose.yaml: the official image plus the MySQL driver and the S3 client it needs
# (the official image carries neither). Pinned, so that `make up` starts the same server every time.
ARG MLFLOW_VERSION=3.16.0
FROM ghcr.io/mlflow/mlflow:v${MLFLOW_VERSION}
RUN pip install --no-cache-dir "pymysql==1.1.2" "boto3==1.40.*" "cryptography>=44"

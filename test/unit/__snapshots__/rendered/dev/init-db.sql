-- Runs on PostgreSQL's first start only (docker-entrypoint-initdb.d, empty data directory).
CREATE DATABASE ciam_kratos;
CREATE DATABASE ciam_hydra;
CREATE DATABASE iam_kratos;
CREATE DATABASE iam_hydra;
CREATE DATABASE olympus;

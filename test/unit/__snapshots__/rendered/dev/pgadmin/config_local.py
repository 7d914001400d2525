# Rendered by olympus-infra. pgAdmin signs in through IAM Hydra only.
import os

AUTHENTICATION_SOURCES = ["oauth2"]
# Only accounts an administrator created may sign in: an IAM identity never becomes a database admin by itself.
OAUTH2_AUTO_CREATE_USER = False
# And only with the dba role in the ID token; an absent claim denies access.
OAUTH2_ADDITIONAL_CLAIMS_VALIDATION = {'roles': lambda roles: 'dba' in (roles or [])}
# SESSION_EXPIRATION_TIME counts days (1 is its least); the 60-minute limit is the inactivity timeout, in seconds.
SESSION_EXPIRATION_TIME = 1
USER_INACTIVITY_TIMEOUT = 3600
OAUTH2_CONFIG = [{
    "OAUTH2_NAME": "olympus",
    "OAUTH2_DISPLAY_NAME": "Olympus",
    "OAUTH2_TOKEN_URL": "http://iam-hydra:7002/oauth2/token",
    "OAUTH2_AUTHORIZATION_URL": "https://oauth.iam.olympus.localhost/oauth2/auth",
    "OAUTH2_SERVER_METADATA_URL": "http://iam-hydra:7002/.well-known/openid-configuration",
    "OAUTH2_API_BASE_URL": "http://iam-hydra:7002/",
    "OAUTH2_USERINFO_ENDPOINT": "userinfo",
    "OAUTH2_SCOPE": "openid email profile",
    'OAUTH2_CLIENT_ID': os.environ['PGADMIN_OAUTH_CLIENT_ID'],
    'OAUTH2_CLIENT_SECRET': os.environ['PGADMIN_OAUTH_CLIENT_SECRET'],
}]

-- One database and one role per service: each owns its schema and can reach no other's. The
-- gateway's database holds the shared rate-limit counters. Development passwords: a deployment
-- creates its own roles and puts their URLs in each service's DATABASE_URL (or DATABASE_URL_FILE).
CREATE ROLE identity LOGIN PASSWORD 'identity';
CREATE DATABASE identity OWNER identity;
CREATE ROLE crm LOGIN PASSWORD 'crm';
CREATE DATABASE crm OWNER crm;
CREATE ROLE voice_agent LOGIN PASSWORD 'voice_agent';
CREATE DATABASE voice_agent OWNER voice_agent;
CREATE ROLE messaging LOGIN PASSWORD 'messaging';
CREATE DATABASE messaging OWNER messaging;
CREATE ROLE gateway LOGIN PASSWORD 'gateway';
CREATE DATABASE gateway OWNER gateway;

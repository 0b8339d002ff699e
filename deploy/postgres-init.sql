-- One database per service (each owns its schema); the gateway's holds shared rate-limit counters.
CREATE DATABASE identity;
CREATE DATABASE crm;
CREATE DATABASE voice_agent;
CREATE DATABASE messaging;
CREATE DATABASE gateway;

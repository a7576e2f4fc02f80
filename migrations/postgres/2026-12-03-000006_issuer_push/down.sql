DROP TABLE service_keys;
DROP TABLE push_auto_accepts;
DROP TABLE push_rate_windows;
DROP TABLE pushes;
DROP TABLE issuer_clients;

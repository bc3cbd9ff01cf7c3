-- Every schema's name by oid (thousands, with a schema per tenant): joined in Rust.
SELECT n.oid, n.nspname::text AS name FROM pg_namespace n

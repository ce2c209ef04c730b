//! Durable jobs: queue, leases, heartbeats, retries, chains, and the worker pool.

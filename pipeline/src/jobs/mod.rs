//! Durable jobs: the queue in the database ([`queue`]: enqueue, atomic claim with a lease,
//! heartbeats, retries with backoff, final failure, chains) and the worker pool that runs
//! handlers ([`worker`]).
//!
//! Invariants: a job is `running` only while some worker holds its lease; a lease that is not
//! renewed expires and the job is claimed again (counting as an attempt); only the lease
//! holder can finish a job, so a superseded worker never completes it a second time; a job's
//! follow-up jobs are enqueued in the same transaction that marks it done.

pub mod queue;
pub mod remote;
pub mod split;
pub mod worker;

pub use queue::{Clock, Job, JobState, NewJob, Queue, DEFAULT_PRIORITY};
pub use worker::{Done, Handler, JobContext, JobError, JobFuture, WorkerPool};

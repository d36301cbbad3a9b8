//! Group commit: [`crate::Db::write`] on SQLite.
//!
//! SQLite has one writer and synchronous=FULL makes every COMMIT wait for an fsync of the
//! WAL, so one transaction per request caps intake at the disk's fsync rate. Instead, one
//! writer task per database runs the jobs that arrive while it is busy in one transaction,
//! each inside its own SAVEPOINT, and commits once for all of them:
//! - a job that fails rolls back to its savepoint: its own writes vanish, the others stay,
//!   and it gets its own error;
//! - no job is answered before the COMMIT succeeded; when the COMMIT (or the transaction
//!   itself) fails, every job of the batch gets an error and nothing of it is stored;
//! - jobs run one after another on the connection, so a job sees the writes of the jobs
//!   before it in the batch (the audit chain head, counters) exactly as if they had
//!   committed just before: the result equals running them one transaction each.
//!
//! Batches are formed naturally: the writer starts a transaction as soon as a job is
//! there and keeps running jobs as long as more are queued (up to `max_batch`), waiting at
//! most `max_wait` after the first for stragglers; whatever arrives during the COMMIT's
//! fsync forms the next batch. Under load, batches grow with the load; a lone request
//! pays nothing extra when `max_wait` is zero.
//!
//! The writer takes the connection from the one-connection writer pool for each batch,
//! so write paths that still use [`crate::Db::begin`] queue with the batches, not behind
//! them forever.

use crate::Tx;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// A boxed future that may borrow the transaction for `'a`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How the SQLite writer forms batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCommit {
    /// At most this many jobs share one transaction (1 turns group commit off).
    pub max_batch: usize,
    /// How long the writer waits for more jobs once the queue is empty, measured from the
    /// batch's first job. Zero commits as soon as the queue runs dry, which under load
    /// already gathers everything that arrived during the previous COMMIT. Tokio's timer
    /// has millisecond resolution, so small non-zero values act like one millisecond.
    pub max_wait: Duration,
    /// Whether [`crate::Db::write_batched`] writes the queued requests of one kind with
    /// multi-row statements (both engines; see [`crate::batch`]). Off, each request is
    /// its own job, as [`crate::Db::write`] runs it.
    pub batch_requests: bool,
    /// After this long without a job the SQLite writer gives back its page cache
    /// (`PRAGMA shrink_memory`): it is large for intake batches, and an idle server
    /// should not hold it.
    pub idle_shrink_after: Duration,
}

impl Default for GroupCommit {
    fn default() -> Self {
        GroupCommit {
            max_batch: 256,
            max_wait: Duration::ZERO,
            batch_requests: true,
            idle_shrink_after: Duration::from_secs(5),
        }
    }
}

/// Counters of the write path: how many jobs were run and in how many commits.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WriteStats {
    pub jobs: u64,
    pub commits: u64,
    /// Batches written by [`crate::Db::write_batched`] (each one job) and the requests
    /// they held.
    pub batches: u64,
    pub batched_requests: u64,
    /// Microseconds the SQLite writer spent running jobs (from BEGIN to the end of the
    /// batch's last job) and in COMMIT (there the fsync of the WAL): where a commit cycle
    /// goes, printed by the intake benchmark.
    pub run_micros: u64,
    pub commit_micros: u64,
    /// Times the idle writer returned its page cache (`PRAGMA shrink_memory`).
    pub shrinks: u64,
    /// Background WAL checkpoints run (see [`crate::checkpoint`]).
    pub checkpoints: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    jobs: AtomicU64,
    commits: AtomicU64,
    batches: AtomicU64,
    batched_requests: AtomicU64,
    run_micros: AtomicU64,
    commit_micros: AtomicU64,
    shrinks: AtomicU64,
    pub(crate) checkpoints: AtomicU64,
}

impl Counters {
    pub(crate) fn add(&self, jobs: u64, commits: u64) {
        self.jobs.fetch_add(jobs, Ordering::Relaxed);
        self.commits.fetch_add(commits, Ordering::Relaxed);
    }
    pub(crate) fn add_time(&self, run: Duration, commit: Duration) {
        let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.run_micros.fetch_add(micros(run), Ordering::Relaxed);
        self.commit_micros
            .fetch_add(micros(commit), Ordering::Relaxed);
    }
    pub(crate) fn add_batch(&self, requests: u64) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.batched_requests.fetch_add(requests, Ordering::Relaxed);
    }
    pub(crate) fn get(&self) -> WriteStats {
        WriteStats {
            jobs: self.jobs.load(Ordering::Relaxed),
            commits: self.commits.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            batched_requests: self.batched_requests.load(Ordering::Relaxed),
            run_micros: self.run_micros.load(Ordering::Relaxed),
            commit_micros: self.commit_micros.load(Ordering::Relaxed),
            shrinks: self.shrinks.load(Ordering::Relaxed),
            checkpoints: self.checkpoints.load(Ordering::Relaxed),
        }
    }
}

/// Sends a job's outcome to its caller once the batch's fate is known: `None` when the
/// COMMIT succeeded, the error when it did not.
type Answer = Box<dyn FnOnce(Option<&sqlx::Error>) + Send>;

/// One queued job with its caller's reply channel, its types erased for the queue.
trait Work: Send {
    /// Runs the job in the transaction; says whether it succeeded and how to answer.
    fn run<'c>(self: Box<Self>, tx: &'c mut Tx) -> BoxFuture<'c, (bool, Answer)>;
    /// Answers without running (the batch's transaction could not be started).
    fn fail(self: Box<Self>, e: &sqlx::Error);
}

struct Pending<F, T, E> {
    job: F,
    reply: oneshot::Sender<Result<T, E>>,
}

/// The error each job of a failed batch gets: sqlx errors are not Clone, and the cause
/// is the batch's, not the job's.
pub(crate) fn batch_error(e: &sqlx::Error) -> sqlx::Error {
    sqlx::Error::Protocol(format!("group commit failed: {e}"))
}

impl<F, T, E> Work for Pending<F, T, E>
where
    F: for<'c> FnOnce(&'c mut Tx) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: From<sqlx::Error> + Send + 'static,
{
    fn run<'c>(self: Box<Self>, tx: &'c mut Tx) -> BoxFuture<'c, (bool, Answer)> {
        let Pending { job, reply } = *self;
        Box::pin(async move {
            let result = job(tx).await;
            let ok = result.is_ok();
            let answer: Answer = Box::new(move |commit: Option<&sqlx::Error>| {
                let out = match (result, commit) {
                    (Ok(_), Some(e)) => Err(E::from(batch_error(e))),
                    (r, _) => r,
                };
                let _ = reply.send(out);
            });
            (ok, answer)
        })
    }

    fn fail(self: Box<Self>, e: &sqlx::Error) {
        let _ = self.reply.send(Err(E::from(batch_error(e))));
    }
}

/// The SQLite writer: a queue and the task that drains it, started on first use (and
/// again if the runtime that ran it has gone, as happens between tests).
pub(crate) struct Writer {
    pool: sqlx::AnyPool,
    /// For the background checkpoints.
    read: sqlx::AnyPool,
    opts: GroupCommit,
    queue: Mutex<Option<mpsc::UnboundedSender<Box<dyn Work>>>>,
    pub(crate) counters: Arc<Counters>,
}

impl Writer {
    pub(crate) fn new(
        pool: sqlx::AnyPool,
        read: sqlx::AnyPool,
        opts: GroupCommit,
        counters: Arc<Counters>,
    ) -> Self {
        Writer {
            pool,
            read,
            opts: GroupCommit {
                max_batch: opts.max_batch.max(1),
                ..opts
            },
            queue: Mutex::new(None),
            counters,
        }
    }

    fn sender(&self) -> mpsc::UnboundedSender<Box<dyn Work>> {
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = q.as_ref().filter(|s| !s.is_closed()) {
            return s.clone();
        }
        let (s, r) = mpsc::unbounded_channel();
        let commits = Arc::new(tokio::sync::Notify::new());
        tokio::spawn(crate::checkpoint::run(
            self.read.clone(),
            commits.clone(),
            self.counters.clone(),
        ));
        tokio::spawn(run(
            self.pool.clone(),
            r,
            self.opts,
            self.counters.clone(),
            commits,
        ));
        *q = Some(s.clone());
        s
    }

    pub(crate) async fn submit<F, T, E>(&self, job: F) -> Result<T, E>
    where
        F: for<'c> FnOnce(&'c mut Tx) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<sqlx::Error> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let work: Box<dyn Work> = Box::new(Pending { job, reply });
        if let Err(mpsc::error::SendError(work)) = self.sender().send(work) {
            work.fail(&sqlx::Error::WorkerCrashed);
        }
        // Dropped without an answer only when the job panicked or the runtime went away.
        answer
            .await
            .unwrap_or_else(|_| Err(E::from(sqlx::Error::WorkerCrashed)))
    }
}

/// The next job; after `idle` without one, the writer connection first gives back its
/// page cache (large, for intake batches: see `DbOptions`) so that an idle server holds
/// little, then waits as long as it takes. `None` once the queue is closed.
async fn next_job(
    pool: &sqlx::AnyPool,
    queue: &mut mpsc::UnboundedReceiver<Box<dyn Work>>,
    counters: &Counters,
    idle: Duration,
) -> Option<Box<dyn Work>> {
    if let Ok(job) = tokio::time::timeout(idle, queue.recv()).await {
        return job;
    }
    match sqlx::query("PRAGMA shrink_memory").execute(pool).await {
        Ok(_) => {
            counters.shrinks.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => tracing::warn!(error = %e, "group commit: shrink_memory failed"),
    }
    queue.recv().await
}

async fn run(
    pool: sqlx::AnyPool,
    mut queue: mpsc::UnboundedReceiver<Box<dyn Work>>,
    opts: GroupCommit,
    counters: Arc<Counters>,
    commits: Arc<tokio::sync::Notify>,
) {
    while let Some(first) = next_job(&pool, &mut queue, &counters, opts.idle_shrink_after).await {
        let began = std::time::Instant::now();
        let mut tx = match pool.begin_with(crate::SQLITE_BEGIN).await {
            Ok(tx) => tx,
            Err(e) => {
                tracing::error!(error = %e, "group commit: cannot start a transaction");
                first.fail(&e);
                continue;
            }
        };
        let deadline = tokio::time::Instant::now() + opts.max_wait;
        let mut answers: Vec<Answer> = Vec::new();
        let mut next = Some(first);
        let mut broken: Option<sqlx::Error> = None;
        let mut ran = 0usize;
        while let Some(work) = next.take() {
            ran += 1;
            match run_one(&mut tx, work).await {
                Ok(answer) => answers.extend(answer),
                Err((e, answer)) => {
                    answers.extend(answer);
                    broken = Some(e);
                    break;
                }
            }
            if ran >= opts.max_batch {
                break;
            }
            next = match queue.try_recv() {
                Ok(w) => Some(w),
                Err(_) if opts.max_wait.is_zero() => None,
                Err(_) => tokio::time::timeout_at(deadline, queue.recv())
                    .await
                    .ok()
                    .flatten(),
            };
        }
        let ran_for = began.elapsed();
        let outcome = match broken {
            Some(e) => {
                // Dropping rolls back; an explicit ROLLBACK reports nothing more useful.
                drop(tx);
                Err(e)
            }
            None => tx.commit().await,
        };
        counters.add(ran as u64, 1);
        commits.notify_one();
        counters.add_time(ran_for, began.elapsed().saturating_sub(ran_for));
        match outcome {
            Ok(()) => answers.into_iter().for_each(|a| a(None)),
            Err(e) => {
                tracing::error!(error = %e, jobs = ran, "group commit failed; every job of the batch is refused");
                answers.into_iter().for_each(|a| a(Some(&e)));
            }
        }
    }
}

/// Runs one job inside its own savepoint. `Err` means the transaction can no longer be
/// trusted (a savepoint statement failed): the whole batch must be rolled back.
async fn run_one(
    tx: &mut Tx,
    work: Box<dyn Work>,
) -> Result<Option<Answer>, (sqlx::Error, Option<Answer>)> {
    if let Err(e) = exec(tx, "SAVEPOINT yidu_job").await {
        work.fail(&e);
        return Err((e, None));
    }
    // A panicking job is answered with an error (its reply is dropped) and rolled back;
    // the writer and the other jobs carry on.
    let (ok, answer) = match CatchUnwind(work.run(tx)).await {
        Ok((ok, answer)) => (ok, Some(answer)),
        Err(()) => (false, None),
    };
    let end = if ok {
        "RELEASE SAVEPOINT yidu_job"
    } else {
        "ROLLBACK TO SAVEPOINT yidu_job; RELEASE SAVEPOINT yidu_job"
    };
    match exec(tx, end).await {
        Ok(()) => Ok(answer),
        Err(e) => Err((e, answer)),
    }
}

/// Runs fixed SQL (statements separated by `;`) on the transaction. Boxed: the compiler cannot prove an unboxed
/// `Executor` future general enough to be sent to the writer task.
fn exec<'c>(tx: &'c mut Tx, sql: &'static str) -> BoxFuture<'c, Result<(), sqlx::Error>> {
    Box::pin(async move {
        for statement in sql.split(';') {
            sqlx::query(statement.trim()).execute(&mut **tx).await?;
        }
        Ok(())
    })
}

/// Turns a panic while polling the job into an error instead of killing the writer.
struct CatchUnwind<'a, T>(BoxFuture<'a, T>);

impl<T> Future for CatchUnwind<'_, T> {
    type Output = Result<T, ()>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(Err(())),
        }
    }
}

//! Crash safety of intake: the real `yidu serve` is killed with SIGKILL again and again
//! while citizens' submissions pour in, restarted, and the clients retry what was not
//! acknowledged with the same idempotency keys. In the end every acknowledged receipt
//! names exactly one stored item, and no key ever stored two.

use crate::helpers::TestApp;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use yidu_db::Row;

/// Concurrent clients, rounds that end in a kill, and the new keys of the last round.
const CLIENTS: usize = 6;
const KILLS: usize = 5;
const FINAL_NEW: u64 = 20;

/// A small xorshift generator: random kill times without a new dependency; the seed is
/// printed so a failing run can be repeated.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

struct Server {
    child: Child,
    addr: String,
    // Held open so the server's later lines to stdout never hit a closed pipe.
    _stdout: BufReader<ChildStdout>,
}

fn start(app: &TestApp) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_yidu"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&app.config.data_dir)
        .arg("--database")
        .arg(&app.config.database_url)
        .env("YIDU_LOG", "error")
        // Every client is 127.0.0.1: the per-address limit would refuse the load.
        .env("YIDU_SUBMISSIONS_PER_CLIENT_PER_HOUR", "1000000")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start yidu serve");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let addr = first
        .split("http://")
        .nth(1)
        .unwrap_or_else(|| panic!("the first line names the URL: {first:?}"))
        .trim()
        .to_string();
    Server {
        child,
        addr,
        _stdout: stdout,
    }
}

/// What one POST came to: a status and body, or no answer at all (the server died).
enum Outcome {
    Answer(u16, String),
    NoAnswer,
}

/// One raw HTTP/1.1 POST of a JSON body, without cookies (so no CSRF token is needed).
fn post(addr: &str, path: &str, key: &str, body: &str) -> Outcome {
    let attempt = || -> std::io::Result<(u16, String)> {
        let mut s = TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_secs(15)))?;
        s.set_write_timeout(Some(Duration::from_secs(15)))?;
        write!(
            s,
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Idempotency-Key: {key}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw)?;
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, rest) = text
            .split_once("\r\n\r\n")
            .ok_or(std::io::ErrorKind::UnexpectedEof)?;
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or(std::io::ErrorKind::InvalidData)?;
        Ok((status, rest.to_string()))
    };
    match attempt() {
        Ok((status, body)) => Outcome::Answer(status, body),
        Err(_) => Outcome::NoAnswer,
    }
}

#[derive(Default)]
struct Ledger {
    /// Keys sent but not acknowledged: retried with the same key.
    unacked: Vec<String>,
    next_new: u64,
    /// key → tracking number of every 200 answer.
    acked: BTreeMap<String, String>,
    /// Answers other than 200, by status, with one body as an example.
    refused: BTreeMap<u16, (usize, String)>,
    sent: usize,
    lost: usize,
    /// key → when (UTC ms) an attempt of it got no answer: a stored item older than that
    /// was committed by a server that died before answering.
    lost_at: HashMap<String, i64>,
}

impl Ledger {
    /// The next key to send: an unacknowledged one first, else a new one (in the last
    /// round only up to `new_limit`).
    fn next_key(&mut self, run: u64, new_limit: Option<u64>) -> Option<String> {
        if let Some(k) = self.unacked.pop() {
            return Some(k);
        }
        if new_limit.is_some_and(|n| self.next_new >= n) {
            return None;
        }
        self.next_new += 1;
        Some(format!("crash-{run}-{}", self.next_new))
    }
}

fn title_of(key: &str) -> String {
    format!("崩溃测试 {key}")
}

/// Runs the clients against one server until `stop` is set (or, in the last round, until
/// every key is acknowledged and `new_limit` keys were made).
fn load(
    addr: &str,
    ledger: &Mutex<Ledger>,
    stop: &AtomicBool,
    run: u64,
    deputy_code: &str,
    new_limit: Option<u64>,
) {
    std::thread::scope(|s| {
        for _ in 0..CLIENTS {
            s.spawn(|| {
                while !stop.load(Ordering::SeqCst) {
                    let Some(key) = ledger.lock().unwrap().next_key(run, new_limit) else {
                        return;
                    };
                    let body = serde_json::json!({
                        "title": title_of(&key),
                        "body": "夜里路灯不亮，老人出行不便，请尽快修理。",
                        "address": "明湖路 1 号",
                        "deputy_code": deputy_code,
                    })
                    .to_string();
                    let outcome = post(addr, "/api/v1/opinions", &key, &body);
                    let mut l = ledger.lock().unwrap();
                    l.sent += 1;
                    match outcome {
                        Outcome::Answer(200, body) => {
                            let v: serde_json::Value = serde_json::from_str(&body)
                                .unwrap_or_else(|e| panic!("receipt not JSON ({e}): {body}"));
                            let no = v["tracking_no"].as_str().expect("tracking_no").to_string();
                            l.acked.insert(key, no);
                        }
                        Outcome::Answer(status, body) => {
                            // Not stored: counted (the test expects none) and not retried.
                            let e = l.refused.entry(status).or_insert((0, body));
                            e.0 += 1;
                        }
                        Outcome::NoAnswer => {
                            l.lost += 1;
                            l.lost_at.insert(key.clone(), yidu_kernel::clock::now_ms());
                            l.unacked.push(key);
                            // The server is gone or going: don't spin on refused connects.
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                }
            });
        }
    });
}

/// The load with kills, run on plain threads (blocking sockets) off the async runtime.
fn crash_load(app: &TestApp, deputy_code: &str, seed: u64) -> Ledger {
    let ledger = Mutex::new(Ledger::default());
    let mut rng = Rng(seed | 1);
    let run = seed % 100_000;
    let mut kills = 0;
    for _ in 0..KILLS {
        let mut server = start(app);
        let stop = Arc::new(AtomicBool::new(false));
        let wait = Duration::from_millis(rng.between(300, 1500));
        std::thread::scope(|s| {
            let addr = server.addr.clone();
            let stop2 = stop.clone();
            let ledger = &ledger;
            let clients = s.spawn(move || load(&addr, ledger, &stop2, run, deputy_code, None));
            std::thread::sleep(wait);
            // SIGKILL: no shutdown, no flush; requests in flight get no answer.
            server.child.kill().expect("kill -9");
            server.child.wait().unwrap();
            kills += 1;
            stop.store(true, Ordering::SeqCst);
            clients.join().unwrap();
        });
    }
    // Last round: no kill; every unacknowledged key is sent again until it is answered,
    // and some new ones arrive.
    let mut server = start(app);
    let stop = AtomicBool::new(false);
    let limit = ledger.lock().unwrap().next_new + FINAL_NEW;
    load(&server.addr, &ledger, &stop, run, deputy_code, Some(limit));
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let l = ledger.into_inner().unwrap();
    eprintln!(
        "crash test (seed {seed}): {kills} kills, {} requests, {} without answer, {} keys acknowledged, refusals {:?}",
        l.sent,
        l.lost,
        l.acked.len(),
        l.refused.iter().map(|(s, (n, _))| (*s, *n)).collect::<Vec<_>>()
    );
    l
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_submission_survives_kill_9_exactly_once() {
    let app = TestApp::spawn().await;
    let deputy_code = app.demo.as_ref().unwrap().summary.deputy_code.clone();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let started = Instant::now();
    let ledger = {
        let app = &app;
        let code = deputy_code.as_str();
        // Blocking sockets and threads: keep them off the runtime's thread.
        tokio::task::block_in_place(|| crash_load(app, code, seed))
    };
    assert!(
        ledger.refused.is_empty(),
        "refusals under load: {:?}",
        ledger.refused
    );
    assert!(
        ledger.unacked.is_empty(),
        "the last round answers every key"
    );
    assert!(
        ledger.acked.len() as u64 >= FINAL_NEW,
        "enough submissions were acknowledged: {}",
        ledger.acked.len()
    );

    // Every opinion this test stored, by the key in its title.
    let rows =
        sqlx::query("SELECT title, tracking_no, created_at FROM opinions WHERE title LIKE $1")
            .bind("崩溃测试 crash-%")
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    let mut by_key: HashMap<String, Vec<String>> = HashMap::new();
    let mut replayed = 0;
    for r in &rows {
        let title: String = r.get(0);
        let key = title.trim_start_matches("崩溃测试 ").to_string();
        let created: i64 = r.get(2);
        if ledger.lost_at.get(&key).is_some_and(|at| created < *at) {
            replayed += 1;
        }
        by_key.entry(key).or_default().push(r.get(1));
    }
    let doubled: Vec<_> = by_key.iter().filter(|(_, v)| v.len() > 1).collect();
    assert!(
        doubled.is_empty(),
        "keys that stored two items: {doubled:?}"
    );

    // The idempotency records: one per stored item, naming that item.
    let remembered: HashMap<String, String> = sqlx::query(
        "SELECT idem_key, response FROM idempotency_keys WHERE scope = 'opinion.submit' AND idem_key LIKE $1",
    )
    .bind("crash-%")
    .fetch_all(app.db.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| {
        let v: serde_json::Value = serde_json::from_str(&r.get::<String, _>(1)).unwrap();
        (r.get(0), v["tracking_no"].as_str().unwrap().to_string())
    })
    .collect();
    assert_eq!(
        remembered.len(),
        rows.len(),
        "one key record per stored item"
    );
    for (key, nos) in &by_key {
        assert_eq!(remembered.get(key), Some(&nos[0]), "key {key}");
    }

    // Every acknowledged receipt is there exactly once.
    for (key, no) in &ledger.acked {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM opinions WHERE tracking_no = $1")
            .bind(no)
            .fetch_one(app.db.pool())
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 1, "acknowledged {no} (key {key}) stored once");
        assert_eq!(by_key.get(key), Some(&vec![no.clone()]), "key {key}");
    }
    // The last round acknowledged every key, so nothing was stored without a receipt.
    assert_eq!(rows.len(), ledger.acked.len());
    eprintln!(
        "crash test: {} items stored, 0 duplicates, {replayed} stored by a server killed before it answered (the retry got the same receipt), {:?}",
        rows.len(),
        started.elapsed()
    );
}

//! Peers that fail on loopback: a listener that accepts and never answers (a stuck proxy,
//! a dead load balancer), and an HTTP server that answers with what a test scripts —
//! headers, then a few bytes of body, then silence.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Accepts every connection and holds it open, saying nothing; stops when dropped.
pub struct BlackHole {
    pub addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl BlackHole {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (n, s) = (Arc::clone(&accepted), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    return;
                }
                if let Ok(c) = conn {
                    held.push(c);
                    n.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        Self {
            addr,
            accepted,
            stop,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits until someone has connected (the client is now waiting for an answer).
    pub fn wait_for_a_connection(&self) {
        let t0 = Instant::now();
        while self.accepted.load(Ordering::SeqCst) == 0 {
            assert!(t0.elapsed() < Duration::from_secs(20), "nobody connected");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for BlackHole {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

/// What a [`Scripted`] server does with one request: the response head (status line and
/// headers, without the blank line), then some bytes of body, then nothing more while
/// the connection lasts.
pub type Script = fn(request: &str) -> (String, Vec<u8>);

/// An HTTP/1.1 server that answers every request by its script, then goes silent.
pub struct Scripted {
    pub addr: SocketAddr,
    pub requests: Arc<AtomicUsize>,
}

impl Scripted {
    pub fn start(script: Script) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let n = Arc::clone(&requests);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut c) = conn else { continue };
                let n = Arc::clone(&n);
                std::thread::spawn(move || {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        match c.read(&mut byte) {
                            Ok(1) => head.push(byte[0]),
                            _ => return,
                        }
                    }
                    n.fetch_add(1, Ordering::SeqCst);
                    let (response, body) = script(&String::from_utf8_lossy(&head));
                    let _ = c.write_all(format!("{response}\r\n\r\n").as_bytes());
                    let _ = c.write_all(&body);
                    let _ = c.flush();
                    // Silence, until the client gives up.
                    let _ = c.read(&mut [0u8; 1]);
                });
            }
        });
        Self { addr, requests }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// The `Range: bytes=A-B` of a request, if it has one.
pub fn range_of(request: &str) -> Option<(u64, u64)> {
    let line = request
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("range:"))?;
    let spec = line.split_once("bytes=")?.1.trim();
    let (a, b) = spec.split_once('-')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

//! The benchmark's latency client: blocking std sockets and no runtime, so what it measures is
//! the server's round trip rather than the client's own event loop. Sends
//! `newNumberVector Bench.PING` with 1, 2, ... and waits each time for the `setNumberVector`
//! carrying the same value back (bench/driver.mjs, tsdriver.mjs and pydriver.py answer it).
//! The first WARMUP round trips (default 1000) are not timed: steady state, not JIT warm-up.
//!
//!   cargo run --release -p indi-hub --example ping_client -- PORT COUNT [WARMUP]
//!
//! Prints `ready` once the device is defined, then one JSON line with the median and p99 in ms.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Reads until `found(text)` returns a position, keeps what follows it, and returns the match.
fn read_until<T>(socket: &mut TcpStream, text: &mut Vec<u8>, mut found: impl FnMut(&[u8]) -> Option<(usize, T)>) -> T {
    let mut chunk = [0u8; 1 << 16];
    loop {
        if let Some((end, value)) = found(text) {
            text.drain(..end);
            return value;
        }
        let n = socket.read(&mut chunk).expect("read from the server");
        assert!(n > 0, "the server closed the connection");
        text.extend_from_slice(&chunk[..n]);
    }
}

/// The value of the first complete `setNumberVector ... name="PING"` in `text`, and where it ends.
fn ping_reply(text: &[u8]) -> Option<(usize, u64)> {
    let mut from = 0;
    loop {
        let end = from + memchr::memmem::find(&text[from..], b"</setNumberVector>")? + 18;
        let element = &text[from..end];
        from = end;
        if memchr::memmem::find(element, b"name=\"PING\"").is_none() {
            continue;
        }
        let at = memchr::memmem::find(element, b"name=\"P\">")? + 9;
        let value = element[at..].split(|&b| b == b'<').next()?;
        let value = std::str::from_utf8(value).ok()?.trim().parse::<f64>().ok()?;
        return Some((end, value as u64));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args.get(1).and_then(|a| a.parse().ok()).expect("usage: ping_client PORT COUNT");
    let count: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let warmup: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let mut socket = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    socket.set_nodelay(true).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    socket.write_all(b"<getProperties version=\"1.7\"/>\n").unwrap();
    let mut text = Vec::new();
    read_until(&mut socket, &mut text, |t| memchr::memmem::find(t, b"name=\"GO\"").map(|at| (at, ())));
    println!("ready");
    let mut rtts = Vec::with_capacity(count + warmup);
    for i in 1..=(count + warmup) as u64 {
        let request = format!("<newNumberVector device=\"Bench\" name=\"PING\"><oneNumber name=\"P\">{i}</oneNumber></newNumberVector>\n");
        let start = Instant::now();
        socket.write_all(request.as_bytes()).unwrap();
        while read_until(&mut socket, &mut text, ping_reply) != i {}
        rtts.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    let mut rtts = rtts.split_off(warmup);
    rtts.sort_by(f64::total_cmp);
    let median = rtts[rtts.len() / 2];
    let p99 = rtts[rtts.len() * 99 / 100];
    println!("{{\"elements\":{count},\"medianMs\":{median},\"p99Ms\":{p99}}}");
}

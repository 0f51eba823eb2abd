//! The relay path alone, for profiling (callgrind counts instructions, so the figures hold on a
//! busy machine): a fake upstream server streams pre-encoded elements through the hub (as a
//! remote link) to one client that counts them.
//!
//!   cargo run --release -p indi-hub --example relay_profile -- blob 200 1048576
//!   cargo run --release -p indi-hub --example relay_profile -- burst 30000
//!   valgrind --tool=callgrind target/release/examples/relay_profile burst 30000

use indi_codec::blob;
use indi_hub::remote::RemoteSpec;
use indi_hub::{HubConfig, Server};
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const DEFS: &str = "<defBLOBVector device=\"Bench\" name=\"BLOB\" label=\"B\" group=\"G\" state=\"Idle\" perm=\"ro\"><defBLOB name=\"DATA\" label=\"D\"/></defBLOBVector>\n\
<defNumberVector device=\"Bench\" name=\"NUM\" label=\"N\" group=\"G\" state=\"Idle\" perm=\"ro\"><defNumber name=\"N\" label=\"N\" format=\"%g\" min=\"0\" max=\"0\" step=\"0\">0</defNumber></defNumberVector>\n";

fn traffic(mode: &str, count: usize, size: usize) -> (Vec<u8>, &'static str) {
    if mode == "blob" {
        let raw: Vec<u8> = (0..size).map(|i| (i * 31 + i / 7) as u8).collect();
        let text = blob::encode(&raw);
        let mut one =
            format!("<setBLOBVector device=\"Bench\" name=\"BLOB\" state=\"Ok\"><oneBLOB name=\"DATA\" size=\"{size}\" format=\".bin\">").into_bytes();
        one.extend_from_slice(&text);
        one.extend_from_slice(b"</oneBLOB></setBLOBVector>\n");
        (one.repeat(count), "</setBLOBVector>")
    } else {
        let all: String = (0..count)
            .map(|i| format!("<setNumberVector device=\"Bench\" name=\"NUM\" state=\"Ok\"><oneNumber name=\"N\">{i}</oneNumber></setNumberVector>\n"))
            .collect();
        (all.into_bytes(), "</setNumberVector>")
    }
}

async fn upstream(listener: TcpListener, data: Vec<u8>, go: tokio::sync::oneshot::Receiver<()>) {
    let (socket, _) = listener.accept().await.unwrap();
    let (mut reader, mut writer) = socket.into_split();
    let (defs_tx, mut defs_rx) = tokio::sync::mpsc::unbounded_channel();
    // Answer every getProperties with the definitions.
    tokio::spawn(async move {
        let mut buf = vec![0u8; 1 << 16];
        while let Ok(n) = reader.read(&mut buf).await {
            if n == 0 {
                return;
            }
            if memchr::memmem::find(&buf[..n], b"getProperties").is_some() && defs_tx.send(()).is_err() {
                return;
            }
        }
    });
    let mut go = Some(go);
    loop {
        tokio::select! {
            Some(()) = defs_rx.recv() => writer.write_all(DEFS.as_bytes()).await.unwrap(),
            Ok(()) = async { go.as_mut().unwrap().await }, if go.is_some() => {
                go = None;
                writer.write_all(&data).await.unwrap();
            }
            else => return,
        }
    }
}

fn count_markers(haystack: &[u8], marker: &[u8]) -> usize {
    memchr::memmem::find_iter(haystack, marker).count()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map(String::as_str).unwrap_or("burst").to_owned();
    let count: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(30_000);
    let size: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(1 << 20);
    let (data, marker) = traffic(&mode, count, size);

    let up = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up_port = up.local_addr().unwrap().port();
    let (go_tx, go_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(upstream(up, data.clone(), go_rx));

    let mut config = HubConfig::default();
    config.client_queue.blob_replace_after = 0;
    config.client_queue.max_backlog = usize::MAX;
    let server = Server::new(config);
    let address = server.listen("127.0.0.1", 0).await.unwrap();
    server.add_remote(RemoteSpec { host: "127.0.0.1".into(), port: up_port, device: None, blob_enable: true });

    let mut client = TcpStream::connect(address).await.unwrap();
    client.write_all(b"<enableBLOB>Also</enableBLOB>").await.unwrap();
    let mut buf = vec![0u8; 1 << 20];
    // Ask until the definitions come back: then the link is up.
    loop {
        client.write_all(b"<getProperties version=\"1.7\"/>").await.unwrap();
        let read = tokio::time::timeout(std::time::Duration::from_millis(100), client.read(&mut buf)).await;
        if let Ok(Ok(n)) = read {
            if memchr::memmem::find(&buf[..n], b"name=\"NUM").is_some() {
                break;
            }
        }
    }
    let start = Instant::now();
    go_tx.send(()).unwrap();
    let (mut found, mut bytes, mut tail) = (0, 0usize, Vec::new());
    while found < count {
        let n = client.read(&mut buf).await.unwrap();
        assert!(n > 0, "connection closed after {found} elements");
        bytes += n;
        tail.extend_from_slice(&buf[..n]);
        found += count_markers(&tail, marker.as_bytes());
        let keep = tail.len().min(marker.len() - 1);
        tail.drain(..tail.len() - keep);
    }
    let seconds = start.elapsed().as_secs_f64();
    println!("{mode}: {count} elements, {:.1} MB/s of wire bytes, {:.0} elements/s", bytes as f64 / seconds / 1e6, count as f64 / seconds);
    server.hub().shutdown();
}

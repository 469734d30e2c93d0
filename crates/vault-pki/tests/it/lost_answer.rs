//! A server that carries out a request and never answers it (the connection closes after the
//! request was served): calls that are not safe to repeat must not be retried.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use vault_pki::{KeyExport, PkiClient, RetryPolicy, VaultConfig};

use crate::common::{client, server};

/// Listens on 127.0.0.1: each connection's first request is forwarded to `upstream`, and once
/// the upstream's answer starts arriving the client's connection is closed unanswered.
async fn answer_dropping_proxy(upstream: String) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        // Bounded: a handful of connections is all a test makes.
        for _ in 0..16 {
            let Ok((mut down, _)) = listener.accept().await else {
                return;
            };
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let request = read_request(&mut down).await;
                let Ok(mut up) = TcpStream::connect(&upstream).await else {
                    return;
                };
                if up.write_all(&request).await.is_err() {
                    return;
                }
                // The server has done the work once its answer starts: drop it.
                let mut buf = [0u8; 1];
                let _ = tokio::time::timeout(Duration::from_secs(30), up.read(&mut buf)).await;
                drop(down);
            });
        }
    });
    addr
}

/// One HTTP/1.1 request: its head up to the blank line, then `Content-Length` bytes.
async fn read_request(s: &mut TcpStream) -> Vec<u8> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return data,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while data.len() < head_end + len {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
    data
}

/// The key ids in a PKI mount (`LIST <mount>/keys`).
async fn keys(c: &PkiClient, mount: &str) -> Vec<String> {
    let url = format!("{}/v1/{mount}/keys?list=true", c.address());
    let v: serde_json::Value = c
        .http()
        .get(&url)
        .header("X-Vault-Token", c.config().token.expose_secret())
        .send()
        .await
        .expect("list keys")
        .json()
        .await
        .expect("JSON");
    v["data"]["keys"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn an_exported_intermediate_whose_answer_is_lost_is_not_generated_twice() {
    let root = client();
    let mount = "lostanswer-istioca";
    root.enable_pki(mount, Duration::from_secs(3600))
        .await
        .expect("mount");
    let upstream = server().addr().trim_start_matches("http://").to_string();
    let proxy = answer_dropping_proxy(upstream).await;
    // Retries enabled, as by default: they must not apply to this call.
    let cfg = VaultConfig::new(format!("http://{proxy}"))
        .with_token(server().root_token().clone())
        .with_retry(RetryPolicy::new(
            4,
            Duration::from_millis(10),
            Duration::from_millis(50),
        ));
    let through_proxy = PkiClient::new(cfg).expect("client");

    let e = through_proxy
        .generate_intermediate(mount, "Lost Answer CA", KeyExport::Exported)
        .await
        .expect_err("the answer was dropped");
    assert!(
        matches!(e, vault_pki::Error::Unreachable { .. }),
        "a lost answer is reported as such: {e:?}"
    );
    // Vault generated the key once; a retry would have made more (each one orphaned: the
    // exported key is in an answer nobody receives).
    assert_eq!(keys(&root, mount).await.len(), 1, "keys in {mount}");

    // A read through the same proxy is retried (it is safe to repeat), and still fails here
    // because every answer is dropped: the error says so instead of hanging.
    let e = through_proxy
        .read_mount(mount)
        .await
        .expect_err("every answer is dropped");
    assert!(e.is_transient(), "{e:?}");
}

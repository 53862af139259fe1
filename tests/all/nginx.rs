//! nginx (Debian's) as a real server for the tests: HTTP/2 over TLS, h2c with prior
//! knowledge, HTTP/1.1, and `client_max_body_size`. Started per test on free ports, stopped
//! at drop.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::TempDir;

pub struct Nginx {
    child: Child,
    /// `https://127.0.0.1:PORT`: HTTP/2 and HTTP/1.1 by ALPN.
    pub https: String,
    /// `http://127.0.0.1:PORT`: h2c with prior knowledge only.
    pub h2c: String,
    /// `http://127.0.0.1:PORT`: HTTP/1.1.
    pub http: String,
    _dir: TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Nginx {
    /// Starts nginx, or `None` (with a note) when it is not installed.
    pub fn start() -> Option<Nginx> {
        let bin = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|p| Path::new(p).exists())?;
        let dir = TempDir::new("nginx");
        let rcgen::CertifiedKey { cert, signing_key } =
            rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
                .unwrap();
        std::fs::write(dir.path("cert.pem"), cert.pem()).unwrap();
        std::fs::write(dir.path("key.pem"), signing_key.serialize_pem()).unwrap();
        std::fs::write(dir.path("upload"), "uploaded\n").unwrap();
        let (tls, h2c, plain) = (free_port(), free_port(), free_port());
        let root = dir.0.display();
        let conf = format!(
            r#"
daemon off;
master_process off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    client_max_body_size 1k;
    keepalive_requests 100000;
    server {{
        listen 127.0.0.1:{tls} ssl http2;
        listen 127.0.0.1:{h2c} http2;
        listen 127.0.0.1:{plain};
        ssl_certificate {root}/cert.pem;
        ssl_certificate_key {root}/key.pem;
        root {root};
        location = / {{ return 200 "hello from nginx\n"; }}
        location = /upload {{ default_type text/plain; }}
        location = /big {{ client_max_body_size 64m; return 200 "ok\n"; }}
    }}
}}
"#
        );
        std::fs::write(dir.path("nginx.conf"), conf).unwrap();
        let child = Command::new(bin)
            .arg("-p")
            .arg(&dir.0)
            .arg("-c")
            .arg(dir.path("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .ok()?;
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", plain)).is_err()
            || std::net::TcpStream::connect(("127.0.0.1", tls)).is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "nginx did not start: {}",
                std::fs::read_to_string(dir.path("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Nginx {
            child,
            https: format!("https://127.0.0.1:{tls}"),
            h2c: format!("http://127.0.0.1:{h2c}"),
            http: format!("http://127.0.0.1:{plain}"),
            _dir: dir,
        })
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

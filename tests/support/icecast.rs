//! Real streaming servers for the relay tests: an `icecast2` on a loopback port in a private
//! folder, `ffmpeg` feeding it as a station's encoder would, and a small HTTP server of our
//! own for what a real server will not do on demand (stall, send garbage, redirect forever,
//! serve HLS from a folder).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const PASSWORD: &str = "hackme";

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Icecast {
    pub dir: tempfile::TempDir,
    pub port: u16,
    /// A second listener with TLS, when started by [`Icecast::start_tls`].
    pub tls_port: Option<u16>,
    child: Option<Child>,
}

impl Icecast {
    /// Starts icecast2, or `None` when it (or ffmpeg, which feeds it) is not installed (after
    /// [`super::skip`], which fails under CI).
    pub fn start() -> Option<Icecast> {
        super::alone();
        super::installed(&["icecast2", "ffmpeg"]).then(|| Icecast::launch(false))
    }

    /// Also listens with TLS, its certificate issued by a test authority whose certificate
    /// is `ca.pem` in [`Icecast::dir`] (for `SSL_CERT_FILE`).
    pub fn start_tls() -> Option<Icecast> {
        super::alone();
        super::installed(&["icecast2", "ffmpeg", "openssl"]).then(|| Icecast::launch(true))
    }

    fn launch(tls: bool) -> Icecast {
        let dir = crate::support::scratch();
        let port = free_port();
        let tls_port = tls.then(free_port);
        let mut tls_conf = String::new();
        if let Some(p) = tls_port {
            make_certificates(dir.path());
            tls_conf = format!(
                "<listen-socket><port>{p}</port><bind-address>127.0.0.1</bind-address><ssl>1</ssl></listen-socket>"
            );
        }
        // icecast2 will not run as root without dropping to another user, who must be able
        // to write its logs.
        let root = unsafe { libc::geteuid() } == 0;
        if root {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        }
        let d = dir.path().display();
        let security = if root {
            "<security><chroot>0</chroot><changeowner><user>nobody</user><group>nogroup</group></changeowner></security>"
        } else {
            "<security><chroot>0</chroot></security>"
        };
        std::fs::write(
            dir.path().join("icecast.xml"),
            format!(
                "<icecast><location>test</location><admin>t@localhost</admin>
<limits><clients>100</clients><sources>10</sources><queue-size>524288</queue-size>
<client-timeout>30</client-timeout><header-timeout>15</header-timeout><source-timeout>10</source-timeout>
<burst-on-connect>1</burst-on-connect><burst-size>65535</burst-size></limits>
<authentication><source-password>{PASSWORD}</source-password><relay-password>{PASSWORD}</relay-password>
<admin-user>admin</admin-user><admin-password>{PASSWORD}</admin-password></authentication>
<hostname>127.0.0.1</hostname>
<listen-socket><port>{port}</port><bind-address>127.0.0.1</bind-address></listen-socket>{tls_conf}
<fileserve>0</fileserve>
<mount type=\"default\"><charset>UTF-8</charset></mount>
<paths><basedir>{d}</basedir><logdir>{d}</logdir><pidfile>{d}/icecast.pid</pidfile><ssl-certificate>{d}/icecast.pem</ssl-certificate></paths>
<logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>3</loglevel></logging>
{security}</icecast>"
            ),
        )
        .unwrap();
        let mut ice = Icecast {
            dir,
            port,
            tls_port,
            child: None,
        };
        ice.restart();
        ice
    }

    /// Starts the server (again, on the same port).
    pub fn restart(&mut self) {
        let child = Command::new("icecast2")
            .arg("-c")
            .arg(self.dir.path().join("icecast.xml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("icecast2 is not installed: run scripts/setup");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "icecast2 did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn url(&self, mount: &str) -> String {
        format!("http://127.0.0.1:{}/{mount}", self.port)
    }

    pub fn tls_url(&self, mount: &str) -> String {
        format!("https://127.0.0.1:{}/{mount}", self.tls_port.unwrap())
    }

    /// The source URL ffmpeg publishes to.
    pub fn publish_url(&self, mount: &str) -> String {
        format!(
            "icecast://source:{PASSWORD}@127.0.0.1:{}/{mount}",
            self.port
        )
    }

    /// Waits until `mount` serves audio.
    pub fn wait_mount(&self, mount: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = write!(s, "GET /{mount} HTTP/1.0\r\n\r\n");
                let mut line = String::new();
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = BufReader::new(s).read_line(&mut line);
                if line.contains(" 200") {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "mount /{mount} did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A test certificate authority and a server certificate for 127.0.0.1 it issued, with
/// `openssl`: `ca.pem`, and `icecast.pem` (certificate and key, as icecast2 wants them).
pub fn make_certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl is not installed: run scripts/setup");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=loaxa test authority",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    let mut pem = std::fs::read(dir.join("server.pem")).unwrap();
    pem.extend(std::fs::read(dir.join("server.key")).unwrap());
    std::fs::write(dir.join("icecast.pem"), pem).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        dir.join("icecast.pem"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
}

impl Drop for Icecast {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An ffmpeg process (an encoder feeding a server, or a listener recording one).
pub struct Ffmpeg(Option<Child>);

impl Ffmpeg {
    pub fn spawn(args: &[&str]) -> Ffmpeg {
        let child = Command::new("ffmpeg")
            .args(["-nostdin", "-hide_banner", "-loglevel", "error"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ffmpeg is not installed: run scripts/setup");
        Ffmpeg(Some(child))
    }

    /// A live sine tone of `freq` Hz, in real time, encoded as `codec` (`mp3`, `aac`,
    /// `vorbis`) to the server's `mount`.
    pub fn tone_to(ice: &Icecast, mount: &str, freq: u32, codec: &str) -> Ffmpeg {
        let source = format!("sine=frequency={freq}:sample_rate=44100");
        let url = ice.publish_url(mount);
        let (c, ct, f, rate) = match codec {
            "mp3" => ("libmp3lame", "audio/mpeg", "mp3", "44100"),
            "aac" => ("aac", "audio/aac", "adts", "44100"),
            "opus" => ("libopus", "application/ogg", "ogg", "48000"),
            _ => ("libvorbis", "application/ogg", "ogg", "44100"),
        };
        Ffmpeg::spawn(&[
            "-re",
            "-f",
            "lavfi",
            "-i",
            &source,
            "-ac",
            "2",
            "-ar",
            rate,
            "-c:a",
            c,
            "-b:a",
            "128k",
            "-content_type",
            ct,
            "-f",
            f,
            &url,
        ])
    }

    /// Live HLS of a tone written into `dir` (2 s MPEG-TS segments, AAC).
    pub fn hls_into(dir: &Path, freq: u32) -> Ffmpeg {
        Ffmpeg::hls(dir, freq, "mpegts")
    }

    /// As [`Ffmpeg::hls_into`], with fragmented-MP4 segments and an initialisation segment.
    pub fn hls_fmp4_into(dir: &Path, freq: u32) -> Ffmpeg {
        Ffmpeg::hls(dir, freq, "fmp4")
    }

    fn hls(dir: &Path, freq: u32, segments: &str) -> Ffmpeg {
        let source = format!("sine=frequency={freq}:sample_rate=44100");
        let out = dir.join("live.m3u8");
        Ffmpeg::spawn(&[
            "-re",
            "-f",
            "lavfi",
            "-i",
            &source,
            "-ac",
            "2",
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            "-f",
            "hls",
            "-hls_time",
            "2",
            "-hls_list_size",
            "6",
            "-hls_segment_type",
            segments,
            "-hls_flags",
            "delete_segments",
            out.to_str().unwrap(),
        ])
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Ffmpeg {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A tiny HTTP server: each connection's request path is handed to `handler` with the socket.
pub struct Server {
    pub port: u16,
    stop: Arc<AtomicBool>,
}

impl Server {
    pub fn start(handler: impl Fn(&str, TcpStream) + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let handler = Arc::new(handler);
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        let h = handler.clone();
                        std::thread::spawn(move || {
                            let mut reader = BufReader::new(stream.try_clone().unwrap());
                            let mut line = String::new();
                            let _ = reader.read_line(&mut line);
                            loop {
                                let mut header = String::new();
                                if reader.read_line(&mut header).unwrap_or(0) == 0
                                    || header.trim().is_empty()
                                {
                                    break;
                                }
                            }
                            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                            h(&path, stream);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Server { port, stop }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Serves the files of `dir` (HLS playlists and segments).
    pub fn files(dir: PathBuf) -> Server {
        Server::start(move |path, mut s| {
            let name = path.trim_start_matches('/').split('?').next().unwrap_or("");
            match std::fs::read(dir.join(name)) {
                Ok(body) if !name.contains("..") => {
                    let ct = if name.ends_with(".m3u8") {
                        "application/vnd.apple.mpegurl"
                    } else {
                        "video/mp2t"
                    };
                    let _ = write!(
                        s,
                        "HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = s.write_all(&body);
                }
                _ => {
                    let _ = s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
                }
            }
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Reads `n` bytes of a stream (a real source's first seconds, to replay as a fault).
pub fn grab(url_host_port: (&str, u16), path: &str, n: usize) -> Vec<u8> {
    let mut s = TcpStream::connect(url_host_port).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\n\r\n").unwrap();
    let mut r = BufReader::new(s);
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        if line.trim().is_empty() {
            break;
        }
    }
    let mut out = vec![0; n];
    r.read_exact(&mut out).unwrap();
    out
}

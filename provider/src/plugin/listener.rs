//! Where the plugin listens: a Unix socket in the socket directory (what go-plugin does
//! on Linux and macOS), or loopback TCP when no socket can be created (and on Windows,
//! where go-plugin always uses TCP).

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
#[cfg(unix)]
use tokio::net::UnixListener;
use tonic::transport::server::Connected;

/// Why no listener could be opened.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("PLUGIN_MIN_PORT/PLUGIN_MAX_PORT: {0}")]
    PortRange(String),
    #[error("could not listen on a Unix socket in {dir} ({unix}) nor on loopback TCP ({tcp})")]
    Bind { dir: PathBuf, unix: io::Error, tcp: io::Error },
    #[error("could not listen on loopback TCP: {0}")]
    Tcp(io::Error),
}

/// A bound listener. The Unix socket file is removed when this is dropped.
#[derive(Debug)]
pub enum PluginListener {
    #[cfg(unix)]
    Unix {
        listener: UnixListener,
        path: PathBuf,
    },
    Tcp(TcpListener),
}

impl PluginListener {
    /// Bind a Unix socket in `socket_dir`, falling back to 127.0.0.1 in the port range.
    pub fn bind(
        socket_dir: &Path,
        min_port: Option<&str>,
        max_port: Option<&str>,
    ) -> Result<Self, ListenError> {
        let (min, max) = port_range(min_port, max_port)?;
        #[cfg(unix)]
        {
            let unix = match bind_unix(socket_dir) {
                Ok(listener) => return Ok(listener),
                Err(e) => e,
            };
            tracing::debug!(error = %unix, "no Unix socket; falling back to loopback TCP");
            bind_tcp(min, max).map_err(|tcp| ListenError::Bind { dir: socket_dir.to_owned(), unix, tcp })
        }
        #[cfg(not(unix))]
        {
            let _ = socket_dir;
            bind_tcp(min, max).map_err(ListenError::Tcp)
        }
    }

    /// The network name as go-plugin writes it in the handshake line.
    pub fn network(&self) -> &'static str {
        match self {
            #[cfg(unix)]
            Self::Unix { .. } => "unix",
            Self::Tcp(_) => "tcp",
        }
    }

    /// The address as go-plugin writes it in the handshake line.
    pub fn address(&self) -> String {
        match self {
            #[cfg(unix)]
            Self::Unix { path, .. } => path.display().to_string(),
            Self::Tcp(l) => l.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        }
    }

    /// Wait for the next connection.
    pub async fn accept(&self) -> io::Result<Conn> {
        match self {
            #[cfg(unix)]
            Self::Unix { listener, .. } => Ok(Conn::new(listener.accept().await?.0)),
            Self::Tcp(listener) => {
                let (stream, _) = listener.accept().await?;
                stream.set_nodelay(true)?;
                Ok(Conn::new(stream))
            }
        }
    }
}

impl Drop for PluginListener {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Self::Unix { path, .. } = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// go-plugin parses both bounds; unset means 0, i.e. "any port".
fn port_range(min: Option<&str>, max: Option<&str>) -> Result<(u16, u16), ListenError> {
    let parse = |name: &str, v: Option<&str>| -> Result<u16, ListenError> {
        v.map_or(Ok(0), |v| {
            v.trim().parse().map_err(|_| ListenError::PortRange(format!("{name} {v:?} is not a port")))
        })
    };
    let (min, max) = (parse("PLUGIN_MIN_PORT", min)?, parse("PLUGIN_MAX_PORT", max)?);
    if min > max {
        return Err(ListenError::PortRange(format!("minimum {min} is greater than maximum {max}")));
    }
    Ok((min, max))
}

#[cfg(unix)]
fn bind_unix(dir: &Path) -> io::Result<PluginListener> {
    let mut last = io::Error::other("no attempt");
    // A random name, as go-plugin's os.CreateTemp("plugin*"); retry on the rare collision.
    for _ in 0..5 {
        let path = dir.join(format!("plugin{}", rand::random::<u32>()));
        match UnixListener::bind(&path) {
            Ok(listener) => return Ok(PluginListener::Unix { listener, path }),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn bind_tcp(min: u16, max: u16) -> io::Result<PluginListener> {
    let mut last = io::Error::other("empty port range");
    for port in min..=max {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        match std::net::TcpListener::bind(addr) {
            Ok(l) => {
                l.set_nonblocking(true)?;
                return Ok(PluginListener::Tcp(TcpListener::from_std(l)?));
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Anything a connection can be carried over (plain Unix/TCP streams, or TLS on them).
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

/// One accepted connection, with or without TLS, as tonic serves it.
pub struct Conn(Box<dyn Io>);

impl Conn {
    /// Wrap any stream.
    pub fn new(io: impl Io) -> Self {
        Self(Box::new(io))
    }
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Conn")
    }
}

impl Connected for Conn {
    // Nothing about the peer is needed: the mTLS handshake already authenticated it.
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for Conn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().0).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.get_mut().0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_range_parsing() {
        assert_eq!(port_range(None, None).unwrap(), (0, 0));
        assert_eq!(port_range(Some("10000"), Some("10010")).unwrap(), (10000, 10010));
        assert!(port_range(Some("10"), Some("9")).is_err());
        assert!(port_range(Some("x"), None).is_err());
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn unix_socket_in_given_dir_is_removed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let listener = PluginListener::bind(dir.path(), None, None).unwrap();
        assert_eq!(listener.network(), "unix");
        let path = PathBuf::from(listener.address());
        assert!(path.starts_with(dir.path()) && path.exists());
        drop(listener);
        assert!(!path.exists());
    }

    #[tokio::test]
    async fn falls_back_to_loopback_tcp_without_socket_dir() {
        let listener = PluginListener::bind(Path::new("/nonexistent/dir"), None, None).unwrap();
        assert_eq!(listener.network(), "tcp");
        assert!(listener.address().starts_with("127.0.0.1:"));
    }
}

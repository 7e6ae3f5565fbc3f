//! The record the slides' UDP echo servers pass from the receiving process to the replying one:
//! the client's address and the data to echo (`struct mesg { struct sockaddr_in addr; char data[]; }`).
//!
//! Every echo server of the workbook uses it — through a pipe (`udpserv_pipeecho`), a FIFO
//! (`udpserv_fifoecho`) and as the text of a message (`msgq_echoserv`) — so it is defined once here.
//! A record is at most [`RECORD_MAX`] bytes, which is no more than `PIPE_BUF`: a `write` of that
//! size to a pipe is atomic, so records from several writers never interleave and the reader can
//! always read a header and then exactly the data it announces.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::error::{Error, Result};

/// Bytes before the data: family (1), padding (1), port (2), length (2), padding (2), address (16).
pub const HEADER_LEN: usize = 24;
/// The most data one record carries; a larger datagram cannot be echoed whole.
pub const MAX_DATA: usize = 4000;
/// The largest record: header and data.
pub const RECORD_MAX: usize = HEADER_LEN + MAX_DATA;

/// Room for the largest UDP payload (65,507 bytes over IPv4), so `recvfrom` never truncates a
/// datagram and the echo servers and clients always learn its true size.
pub const RECV_BUF: usize = 65_536;

const _: () = assert!(RECORD_MAX <= libc::PIPE_BUF, "a record must fit in one atomic pipe write");

/// A request to echo `data` back to `client`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EchoRecord {
    pub client: SocketAddr,
    pub data: Vec<u8>,
}

impl EchoRecord {
    /// The record as bytes (fails if `data` is longer than [`MAX_DATA`]).
    pub fn encode(&self) -> Result<Vec<u8>> {
        if self.data.len() > MAX_DATA {
            return Err(Error::other(format!(
                "{} bytes is more than one record carries ({MAX_DATA})",
                self.data.len()
            )));
        }
        let mut bytes = vec![0u8; HEADER_LEN];
        let (family, address) = match self.client.ip() {
            IpAddr::V4(ip) => (4, ip.to_ipv6_mapped().octets()),
            IpAddr::V6(ip) => (6, ip.octets()),
        };
        bytes[0] = family;
        bytes[2..4].copy_from_slice(&self.client.port().to_be_bytes());
        bytes[4..6].copy_from_slice(&(self.data.len() as u16).to_be_bytes());
        bytes[8..24].copy_from_slice(&address);
        bytes.extend_from_slice(&self.data);
        Ok(bytes)
    }

    /// How many data bytes follow a header (so a stream reader knows how much more to read).
    pub fn data_len(header: &[u8; HEADER_LEN]) -> Result<usize> {
        let len = usize::from(u16::from_be_bytes([header[4], header[5]]));
        if len > MAX_DATA || !matches!(header[0], 4 | 6) {
            return Err(Error::other("corrupt echo record header"));
        }
        Ok(len)
    }

    /// A record from its bytes: a header and exactly the data it announces.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let header: &[u8; HEADER_LEN] = bytes
            .get(..HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or_else(|| Error::other("short echo record"))?;
        let len = Self::data_len(header)?;
        let data =
            bytes.get(HEADER_LEN..HEADER_LEN + len).ok_or_else(|| Error::other("short echo record"))?;
        let address: [u8; 16] = header[8..24].try_into().expect("16 bytes");
        let ip = match header[0] {
            4 => IpAddr::V4(Ipv6Addr::from(address).to_ipv4_mapped().unwrap_or(Ipv4Addr::UNSPECIFIED)),
            _ => IpAddr::V6(Ipv6Addr::from(address)),
        };
        let port = u16::from_be_bytes([header[2], header[3]]);
        Ok(EchoRecord { client: SocketAddr::new(ip, port), data: data.to_vec() })
    }
}

/// The echo server's address from a host name or address and a port (`getaddrinfo`), for the
/// clients: the first address it gives.
pub fn resolve_server(host: &str, port: u16) -> Result<SocketAddr> {
    use crate::error::CallContext;
    use std::net::ToSocketAddrs;
    (host, port)
        .to_socket_addrs()
        .call(format!("getaddrinfo({host})"))?
        .next()
        .ok_or_else(|| Error::other(format!("getaddrinfo({host}): no address")))
}

impl EchoRecord {
    /// Read one record from a stream (a pipe or a FIFO): the header, then exactly the data it
    /// announces. `Ok(None)` at end of file, when every writer has closed.
    ///
    /// The writer put the whole record in with one atomic `write` of at most `PIPE_BUF` bytes, so
    /// once the first bytes are readable the rest is already in the pipe.
    pub fn read_from(stream: &mut impl std::io::Read, what: &str) -> Result<Option<Self>> {
        use crate::error::CallContext;
        let mut header = [0u8; HEADER_LEN];
        let first = stream.read(&mut header).call(format!("read({what})"))?;
        if first == 0 {
            return Ok(None);
        }
        stream.read_exact(&mut header[first..]).call(format!("read({what}) of a record header"))?;
        let mut record = header.to_vec();
        record.resize(HEADER_LEN + Self::data_len(&header)?, 0);
        stream.read_exact(&mut record[HEADER_LEN..]).call(format!("read({what}) of a record's data"))?;
        Self::decode(&record).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_for_both_families_and_all_sizes() {
        for client in ["127.0.0.1:9999", "[::1]:40000"] {
            for len in [0, 1, MAX_DATA] {
                let record = EchoRecord { client: client.parse().unwrap(), data: vec![b'x'; len] };
                let bytes = record.encode().unwrap();
                assert_eq!(bytes.len(), HEADER_LEN + len);
                assert_eq!(EchoRecord::decode(&bytes).unwrap(), record);
            }
        }
    }

    #[test]
    fn records_are_read_back_from_a_stream_one_at_a_time() {
        let client: SocketAddr = "127.0.0.1:7".parse().unwrap();
        let mut stream = Vec::new();
        for data in [&b"one"[..], b"", b"three"] {
            stream.extend(EchoRecord { client, data: data.to_vec() }.encode().unwrap());
        }
        let mut reader = &stream[..];
        let mut read = Vec::new();
        while let Some(record) = EchoRecord::read_from(&mut reader, "test").unwrap() {
            read.push(record.data);
        }
        assert_eq!(read, [b"one".to_vec(), vec![], b"three".to_vec()]);
    }

    #[test]
    fn a_header_with_too_much_data_or_an_unknown_family_is_corrupt() {
        let mut header = [0u8; HEADER_LEN];
        header[0] = 4;
        header[4..6].copy_from_slice(&(MAX_DATA as u16).to_be_bytes());
        assert_eq!(EchoRecord::data_len(&header).unwrap(), MAX_DATA);
        header[4..6].copy_from_slice(&(MAX_DATA as u16 + 1).to_be_bytes());
        assert!(EchoRecord::data_len(&header).is_err(), "too long");
        header[4..6].copy_from_slice(&1u16.to_be_bytes());
        header[0] = 5;
        assert!(EchoRecord::data_len(&header).is_err(), "no such family");
    }

    #[test]
    fn too_much_data_is_refused() {
        let record = EchoRecord { client: "127.0.0.1:1".parse().unwrap(), data: vec![0; MAX_DATA + 1] };
        assert!(record.encode().is_err());
    }
}

//! The peer allowlist: the only addresses the cluster's internal token is sent to when a
//! request is forwarded to a partition's owner.

/// The addresses peers may be reached at: the only ones the internal token is sent to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Peers {
    networks: Vec<ipnet::IpNet>,
    names: Vec<String>,
}

impl Peers {
    /// Loopback only: peers on the same machine (tests, one-machine try-outs).
    pub fn loopback() -> Self {
        Self::parse(&[], true).unwrap_or_default()
    }

    /// From entries like `10.0.0.0/16`, `10.0.3.7`, `fd00::/8` or a host name (matched exactly),
    /// plus the loopback networks when `loopback` is set.
    pub fn parse(entries: &[String], loopback: bool) -> Result<Self, String> {
        let mut peers = Self::default();
        if loopback {
            peers.networks.extend(
                ["127.0.0.0/8", "::1/128"]
                    .iter()
                    .filter_map(|n| n.parse::<ipnet::IpNet>().ok()),
            );
        }
        for entry in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            if let Ok(net) = entry.parse::<ipnet::IpNet>() {
                peers.networks.push(net);
            } else if let Ok(ip) = entry.parse::<std::net::IpAddr>() {
                peers.networks.push(ipnet::IpNet::from(ip));
            } else if entry.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') {
                peers.names.push(entry.to_ascii_lowercase());
            } else {
                return Err(format!(
                    "peer allowlist entry {entry:?} is not an address, a CIDR or a host name"
                ));
            }
        }
        Ok(peers)
    }

    /// Whether `url` names a peer: http(s), no credentials, a host on the allowlist.
    pub fn permits(&self, url: &str) -> bool {
        let Ok(url) = reqwest::Url::parse(url) else {
            return false;
        };
        if !matches!(url.scheme(), "http" | "https") || !url.username().is_empty() || url.password().is_some() {
            return false;
        }
        let host = url.host_str().unwrap_or_default();
        match host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
        {
            Ok(ip) => self.networks.iter().any(|n| n.contains(&ip)),
            Err(_) => self.names.iter().any(|n| n.eq_ignore_ascii_case(host)),
        }
    }
}

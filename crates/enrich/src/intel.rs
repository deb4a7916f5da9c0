//! Intel lists: which network class an IP belongs to, by longest-prefix match.
//!
//! Accepted shapes, recognised from the content:
//! - one IP or CIDR per line, `#` comments (Tor exit lists, x4bnet VPN lists, merged cloud
//!   ranges, iCloud Private Relay egress);
//! - CSV `cidr,label` (a header row is skipped), and `start,end[,label,...]` ranges (ipcat);
//! - the cloud providers' own JSON feeds: AWS `ip-ranges.json` (label `aws:REGION`),
//!   Azure Service Tags (`azure:TAG`) and GCP `cloud.json` (`gcp:SCOPE`).
//!
//! The class of every entry is the one given on the command line (`--intel hosting=...`).
//! Every list goes into one trie per address family (`ip_network_table`); an IP collects the
//! classes and labels of *every* prefix that contains it, so a /8 of hosting and a /24 of VPN
//! inside it both count.

use std::net::IpAddr;
use std::path::Path;

use compact_str::CompactString;
use ip_network::IpNetwork;
use ip_network_table::IpNetworkTable;
use jetlag_event::{NetClass, NetClasses};
use serde_json::Value;

use crate::info::Acc;
use crate::{Error, Problem, Result};

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// The classes this prefix was listed with.
    classes: NetClasses,
    /// `classes` plus those of every shorter prefix containing this one (filled by
    /// [`IntelSet::finish`]), so that one longest-prefix match answers for all of them.
    all: NetClasses,
    /// Index into `IntelSet::labels`, or `u32::MAX` for none.
    label: u32,
}

/// Every intel list, merged into one longest-prefix-match table.
pub(crate) struct IntelSet {
    table: IpNetworkTable<Entry>,
    labels: Vec<CompactString>,
    label_ids: std::collections::HashMap<CompactString, u32>,
    /// Every class that some entry carries (skips the trie when an IP cannot match).
    any: NetClasses,
}

impl Default for IntelSet {
    fn default() -> Self {
        IntelSet {
            table: IpNetworkTable::new(),
            labels: Vec::new(),
            label_ids: std::collections::HashMap::new(),
            any: NetClasses::EMPTY,
        }
    }
}

impl std::fmt::Debug for IntelSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (v4, v6) = self.table.len();
        f.debug_struct("IntelSet")
            .field("ipv4_prefixes", &v4)
            .field("ipv6_prefixes", &v6)
            .field("labels", &self.labels.len())
            .finish()
    }
}

impl IntelSet {
    /// Number of prefixes (IPv4 + IPv6).
    pub(crate) fn len(&self) -> usize {
        let (a, b) = self.table.len();
        a + b
    }

    fn label_id(&mut self, label: Option<&str>) -> u32 {
        let Some(label) = label.map(str::trim).filter(|l| !l.is_empty()) else {
            return u32::MAX;
        };
        if let Some(id) = self.label_ids.get(label) {
            return *id;
        }
        let id = self.labels.len() as u32;
        self.labels.push(label.into());
        self.label_ids.insert(label.into(), id);
        id
    }

    fn insert(&mut self, net: IpNetwork, class: NetClass, label: Option<&str>) {
        let label = self.label_id(label);
        self.any.insert(class);
        match self.table.exact_match_mut(net) {
            Some(e) => {
                e.classes.insert(class);
                e.all.insert(class);
                if e.label == u32::MAX {
                    e.label = label;
                }
            }
            None => {
                self.table.insert(
                    net,
                    Entry {
                        classes: NetClasses::of(&[class]),
                        all: NetClasses::of(&[class]),
                        label,
                    },
                );
            }
        }
    }

    /// Loads one list of class `class` from its bytes. Returns how many prefixes it added.
    pub(crate) fn load(
        &mut self,
        path: &Path,
        class: NetClass,
        text: &str,
        problems: &mut Vec<Problem>,
    ) -> Result<usize> {
        let before = self.len();
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut added = 0usize;
        if text.trim_start().starts_with('{') {
            added += self.load_json(path, class, text)?;
        } else {
            let mut first_problem = None;
            for (i, line) in text.lines().enumerate() {
                let line_no = i as u64 + 1;
                let content = line.split('#').next().unwrap_or("").trim();
                if content.is_empty() {
                    continue;
                }
                match parse_line(content) {
                    Ok(Some((nets, label))) => {
                        for net in nets {
                            self.insert(net, class, label);
                            added += 1;
                        }
                    }
                    Ok(None) => {}
                    Err(reason) => {
                        // A header row: a first content line with no digits in its first field.
                        let first = content.split([',', '\t', ' ']).next().unwrap_or("");
                        if added == 0
                            && first_problem.is_none()
                            && !first.contains(char::is_numeric)
                        {
                            continue;
                        }
                        first_problem.get_or_insert_with(|| reason.clone());
                        problems.push(Problem::new(path, line_no, reason));
                    }
                }
            }
            if added == 0 {
                return Err(Error::Empty {
                    path: path.to_owned(),
                    reason: first_problem
                        .unwrap_or_else(|| "no IP address or CIDR in the file".into()),
                });
            }
        }
        tracing::debug!(path = %path.display(), %class, added, distinct = self.len() - before, "intel list loaded");
        Ok(added)
    }

    fn load_json(&mut self, path: &Path, class: NetClass, text: &str) -> Result<usize> {
        let layout = |reason: String| Error::Layout {
            path: path.to_owned(),
            reason,
        };
        let doc: Value =
            serde_json::from_str(text).map_err(|e| layout(format!("bad JSON: {e}")))?;
        let mut added = 0;
        let mut add = |set: &mut IntelSet, cidr: Option<&str>, label: String| {
            if let Some(net) = cidr.and_then(|c| parse_net(c).ok()) {
                set.insert(net, class, Some(&label));
                added += 1;
            }
        };
        let str_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        if let Some(values) = doc.get("values").and_then(Value::as_array) {
            // Azure Service Tags: {"values": [{"name", "properties": {"addressPrefixes"}}]}
            for v in values {
                let name = str_of(v, "name").unwrap_or_default();
                let prefixes = v
                    .pointer("/properties/addressPrefixes")
                    .and_then(Value::as_array);
                for p in prefixes.into_iter().flatten() {
                    add(self, p.as_str(), format!("azure:{name}"));
                }
            }
        } else if let Some(prefixes) = doc.get("prefixes").and_then(Value::as_array) {
            let gcp = prefixes
                .iter()
                .any(|p| p.get("ipv4Prefix").is_some() || p.get("ipv6Prefix").is_some());
            if gcp {
                // GCP cloud.json: {"prefixes": [{"ipv4Prefix"|"ipv6Prefix", "scope"}]}
                for p in prefixes {
                    let scope = str_of(p, "scope").unwrap_or_default();
                    let cidr = p
                        .get("ipv4Prefix")
                        .or_else(|| p.get("ipv6Prefix"))
                        .and_then(Value::as_str);
                    add(self, cidr, format!("gcp:{scope}"));
                }
            } else {
                // AWS ip-ranges.json: {"prefixes": [{"ip_prefix", "region"}],
                //                      "ipv6_prefixes": [{"ipv6_prefix", "region"}]}
                let v6 = doc.get("ipv6_prefixes").and_then(Value::as_array);
                for p in prefixes.iter().chain(v6.into_iter().flatten()) {
                    let region = str_of(p, "region").unwrap_or_default();
                    let cidr = p
                        .get("ip_prefix")
                        .or_else(|| p.get("ipv6_prefix"))
                        .and_then(Value::as_str);
                    add(self, cidr, format!("aws:{region}"));
                }
            }
        } else {
            return Err(layout(
                "JSON that is neither AWS ip-ranges.json, Azure Service Tags nor GCP cloud.json"
                    .into(),
            ));
        }
        if added == 0 {
            return Err(Error::Empty {
                path: path.to_owned(),
                reason: "the JSON feed lists no prefixes".into(),
            });
        }
        Ok(added)
    }

    /// Pushes every prefix's classes down into the more specific prefixes inside it. Call
    /// once after the last [`load`](IntelSet::load).
    pub(crate) fn finish(&mut self) {
        let updates: Vec<(IpNetwork, NetClasses)> = self
            .table
            .iter()
            .filter_map(|(net, e)| {
                let all = self
                    .table
                    .matches(net.network_address())
                    .filter(|(outer, _)| outer.netmask() < net.netmask())
                    .fold(e.classes, |acc, (_, outer)| acc.union(outer.classes));
                (all != e.all).then_some((net, all))
            })
            .collect();
        for (net, all) in updates {
            if let Some(e) = self.table.exact_match_mut(net) {
                e.all = all;
            }
        }
    }

    /// Adds the classes of every entry containing `ip` (one longest-prefix match, no
    /// allocation) and, if `labels`, their labels (walks every matching prefix).
    pub(crate) fn lookup_into(&self, ip: IpAddr, acc: &mut Acc, labels: bool) {
        if self.any.is_empty() {
            return;
        }
        if !labels {
            if let Some((_, e)) = self.table.longest_match(ip) {
                acc.info.network = acc.info.network.union(e.all);
            }
            return;
        }
        for (_, e) in self.table.matches(ip) {
            acc.info.network = acc.info.network.union(e.classes);
            if labels
                && let Some(l) = self.labels.get(e.label as usize)
                && !acc.info.labels.contains(l)
            {
                acc.info.labels.push(l.clone());
            }
        }
    }
}

type Line<'a> = Option<(Vec<IpNetwork>, Option<&'a str>)>;

/// One content line: `CIDR`, `IP`, `CIDR,label`, `start,end[,label,...]`, or
/// whitespace-separated equivalents.
fn parse_line(content: &str) -> std::result::Result<Line<'_>, String> {
    // CSV when there is a comma (labels may hold spaces), else whitespace-separated.
    let seps: &[char] = if content.contains(',') {
        &[',']
    } else {
        &['\t', ' ', ';']
    };
    let mut fields = content
        .split(seps)
        .map(|f| f.trim().trim_matches('"'))
        .filter(|f| !f.is_empty());
    let Some(first) = fields.next() else {
        return Ok(None);
    };
    let second = fields.next();
    // `start,end[,label]` ranges.
    if let Some(end) = second.and_then(|s| s.parse::<IpAddr>().ok()) {
        let start: IpAddr = first
            .parse()
            .map_err(|_| format!("'{first}' is not an IP address"))?;
        let nets = range_to_networks(start, end)?;
        return Ok(Some((nets, fields.next())));
    }
    let net = parse_net(first)?;
    Ok(Some((vec![net], second)))
}

/// An IP (as a /32 or /128) or a CIDR; host bits set in a CIDR are cleared.
fn parse_net(s: &str) -> std::result::Result<IpNetwork, String> {
    let s = s.trim();
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(IpNetwork::from(ip));
    }
    IpNetwork::from_str_truncate(s).map_err(|e| format!("'{s}' is not an IP address or CIDR: {e}"))
}

/// The smallest list of CIDR blocks covering an inclusive range.
fn range_to_networks(start: IpAddr, end: IpAddr) -> std::result::Result<Vec<IpNetwork>, String> {
    let (mut lo, hi, bits) = match (start, end) {
        (IpAddr::V4(s), IpAddr::V4(e)) => (u32::from(s) as u128, u32::from(e) as u128, 32u32),
        (IpAddr::V6(s), IpAddr::V6(e)) => (u128::from(s), u128::from(e), 128u32),
        _ => return Err(format!("range {start}..{end} mixes IPv4 and IPv6")),
    };
    if lo > hi {
        return Err(format!("range {start}..{end} ends before it starts"));
    }
    let last_of = |lo: u128, size: u32| {
        if size >= 128 {
            u128::MAX
        } else {
            lo + ((1u128 << size) - 1)
        }
    };
    let mut out = Vec::new();
    loop {
        // The largest block aligned at `lo` that does not pass `hi`.
        let mut size = if lo == 0 {
            bits
        } else {
            lo.trailing_zeros().min(bits)
        };
        while size > 0 && last_of(lo, size) > hi {
            size -= 1;
        }
        let prefix = (bits - size) as u8;
        let net = if bits == 32 {
            IpNetwork::new(IpAddr::V4((lo as u32).into()), prefix)
        } else {
            IpNetwork::new(IpAddr::V6(lo.into()), prefix)
        }
        .map_err(|e| e.to_string())?;
        out.push(net);
        let last = last_of(lo, size);
        if last >= hi {
            break;
        }
        lo = last + 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, class: NetClass) -> (IntelSet, Vec<Problem>) {
        let mut set = IntelSet::default();
        let mut problems = Vec::new();
        set.load(Path::new("list.txt"), class, text, &mut problems)
            .unwrap();
        set.finish();
        (set, problems)
    }

    fn classes(set: &IntelSet, ip: &str) -> (NetClasses, Vec<CompactString>) {
        let mut acc = Acc::default();
        set.lookup_into(ip.parse().unwrap(), &mut acc, true);
        (acc.info.network, acc.info.labels)
    }

    #[test]
    fn plain_list_with_comments_ipv6_and_a_bad_line() {
        let text = "# tor exits\n1.2.3.4\n10.0.0.0/8 # office\n\nnot-an-ip\n2001:db8::/32\n";
        let (set, problems) = load(text, NetClass::Tor);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, 5);
        assert!(classes(&set, "1.2.3.4").0.contains(NetClass::Tor));
        assert!(classes(&set, "1.2.3.5").0.is_empty());
        assert!(classes(&set, "10.200.1.1").0.contains(NetClass::Tor));
        assert!(classes(&set, "2001:db8:ffff::1").0.contains(NetClass::Tor));
        assert!(classes(&set, "2001:db9::1").0.is_empty());
    }

    #[test]
    fn nested_prefixes_of_different_classes_both_count() {
        let mut set = IntelSet::default();
        let mut p = Vec::new();
        set.load(
            Path::new("a"),
            NetClass::Hosting,
            "10.0.0.0/8,bigcloud\n",
            &mut p,
        )
        .unwrap();
        set.load(
            Path::new("b"),
            NetClass::Vpn,
            "cidr,label\n10.1.2.0/24,somevpn\n",
            &mut p,
        )
        .unwrap();
        assert!(p.is_empty(), "{p:?}");
        set.finish();
        let (c, labels) = classes(&set, "10.1.2.3");
        assert!(c.contains(NetClass::Hosting) && c.contains(NetClass::Vpn));
        assert_eq!(labels.len(), 2);
        // The allocation-free path (one longest-prefix match) agrees.
        let mut acc = Acc::default();
        set.lookup_into("10.1.2.3".parse().unwrap(), &mut acc, false);
        assert_eq!(acc.info.network, c);
        assert!(acc.info.labels.is_empty());
        let (c, _) = classes(&set, "10.9.9.9");
        assert!(c.contains(NetClass::Hosting) && !c.contains(NetClass::Vpn));
    }

    #[test]
    fn ranges_become_minimal_cidrs() {
        let nets =
            range_to_networks("3.0.0.0".parse().unwrap(), "3.1.255.255".parse().unwrap()).unwrap();
        assert_eq!(
            nets,
            vec![IpNetwork::from_str_truncate("3.0.0.0/15").unwrap()]
        );
        let nets =
            range_to_networks("10.0.0.1".parse().unwrap(), "10.0.0.6".parse().unwrap()).unwrap();
        let shown: Vec<String> = nets.iter().map(|n| n.to_string()).collect();
        assert_eq!(
            shown,
            ["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"]
        );
        let all = range_to_networks(
            "0.0.0.0".parse().unwrap(),
            "255.255.255.255".parse().unwrap(),
        )
        .unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].to_string(), "0.0.0.0/0");
        let (set, _) = load(
            "3.0.0.0,3.1.255.255,Amazon AWS,http://aws\n",
            NetClass::Hosting,
        );
        let (c, labels) = classes(&set, "3.1.2.3");
        assert!(c.contains(NetClass::Hosting));
        assert_eq!(labels, ["Amazon AWS"]);
    }

    #[test]
    fn cloud_feeds_by_shape() {
        let aws = r#"{"syncToken":"1","prefixes":[{"ip_prefix":"3.5.140.0/22","region":"ap-northeast-2","service":"AMAZON"}],
                      "ipv6_prefixes":[{"ipv6_prefix":"2600:1f00::/24","region":"us-east-1","service":"AMAZON"}]}"#;
        let (set, _) = load(aws, NetClass::Hosting);
        assert_eq!(classes(&set, "3.5.141.1").1, ["aws:ap-northeast-2"]);
        assert_eq!(classes(&set, "2600:1f00::1").1, ["aws:us-east-1"]);

        let azure = r#"{"changeNumber":1,"cloud":"Public","values":[{"name":"AzureCloud.eastus","id":"x",
                        "properties":{"region":"eastus","addressPrefixes":["13.68.128.0/17","2603:1030::/40"]}}]}"#;
        let (set, _) = load(azure, NetClass::Hosting);
        assert_eq!(classes(&set, "13.68.200.1").1, ["azure:AzureCloud.eastus"]);
        assert!(classes(&set, "2603:1030::5").0.contains(NetClass::Hosting));

        let gcp = r#"{"syncToken":"1","prefixes":[{"ipv4Prefix":"34.1.208.0/20","service":"Google Cloud","scope":"africa-south1"},
                      {"ipv6Prefix":"2600:1900:8000::/44","service":"Google Cloud","scope":"us-east1"}]}"#;
        let (set, _) = load(gcp, NetClass::Hosting);
        assert_eq!(classes(&set, "34.1.210.9").1, ["gcp:africa-south1"]);
        assert_eq!(classes(&set, "2600:1900:8000::9").1, ["gcp:us-east1"]);

        let mut set = IntelSet::default();
        let err = set
            .load(
                Path::new("x.json"),
                NetClass::Hosting,
                r#"{"foo":1}"#,
                &mut Vec::new(),
            )
            .unwrap_err();
        assert!(err.to_string().contains("x.json"), "{err}");
    }

    #[test]
    fn a_file_with_nothing_usable_is_an_error() {
        let mut set = IntelSet::default();
        let err = set
            .load(
                Path::new("bad.txt"),
                NetClass::Vpn,
                "1.2.3\n999.1.1.1\n",
                &mut Vec::new(),
            )
            .unwrap_err();
        assert!(err.to_string().contains("bad.txt"), "{err}");
    }
}

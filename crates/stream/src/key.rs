//! The three keyed streams and which detectors run on each.
//!
//! Stage 1 writes every event to `by-user` (keyed by user), to `by-ip` when it has an IP
//! and to `by-device` when it has a device id. A detector runs on the stream keyed by what
//! its state is keyed by, so each partition holds *all* the events that detector's state
//! needs: per-user detectors and `session_anomaly` (a session belongs to one user) on
//! `by-user`; `shared_ip` and `password_spray` on `by-ip`; `shared_device` on `by-device`.

use jetlag_detect::DetectConfig;
use jetlag_event::SignIn;

/// A keyed internal stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// Keyed by user: the per-user detectors and `session_anomaly`.
    User,
    /// Keyed by IP: `shared_ip`, `password_spray`.
    Ip,
    /// Keyed by device id: `shared_device`.
    Device,
}

impl Key {
    /// Every stream, in a fixed order.
    pub const ALL: [Key; 3] = [Key::User, Key::Ip, Key::Device];

    /// The topic name after the prefix.
    pub fn topic_suffix(self) -> &'static str {
        match self {
            Key::User => "by-user",
            Key::Ip => "by-ip",
            Key::Device => "by-device",
        }
    }

    /// The short name used in consumer groups and metrics labels.
    pub fn name(self) -> &'static str {
        match self {
            Key::User => "user",
            Key::Ip => "ip",
            Key::Device => "device",
        }
    }

    /// The partitioning key of `ev` on this stream; `None` when the event has no such key
    /// (no IP, no device) and so does not go to this stream.
    pub fn of(self, ev: &SignIn) -> Option<String> {
        match self {
            Key::User => Some(ev.user.to_string()),
            Key::Ip => ev.ip.map(|ip| ip.to_string()),
            Key::Device => ev
                .device_id
                .as_deref()
                .filter(|d| !d.is_empty())
                .map(str::to_owned),
        }
    }

    /// `config` with only the detectors of this stream enabled.
    pub fn detect_config(self, config: &DetectConfig) -> DetectConfig {
        let mut c = config.clone();
        let user = self == Key::User;
        let ip = self == Key::Ip;
        c.impossible_travel.enabled &= user;
        c.new_country.enabled &= user;
        c.anonymizer.enabled &= user;
        c.unfamiliar_signin.enabled &= user;
        c.location_mismatch.enabled &= user;
        c.off_hours.enabled &= user;
        c.session_anomaly.enabled &= user;
        c.shared_ip.enabled &= ip;
        c.password_spray.enabled &= ip;
        c.shared_device.enabled &= self == Key::Device;
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every enabled detector runs on exactly one stream: nothing lost, nothing twice.
    #[test]
    fn each_detector_on_exactly_one_stream() {
        let all = DetectConfig::default();
        let names = |c: &DetectConfig| -> Vec<&'static str> {
            jetlag_detect::Engine::new(c, std::sync::Arc::new(jetlag_roster::Roster::empty()))
                .detector_names()
                .collect()
        };
        let mut split: Vec<&str> = Key::ALL
            .iter()
            .flat_map(|k| names(&k.detect_config(&all)))
            .collect();
        let mut whole = names(&all);
        split.sort_unstable();
        whole.sort_unstable();
        assert_eq!(split, whole);
        assert!(names(&Key::Ip.detect_config(&all)).contains(&"shared_ip"));
        assert_eq!(names(&Key::Device.detect_config(&all)), ["shared_device"]);
    }
}

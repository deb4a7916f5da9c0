//! ISO 3166-1 alpha-2 country codes.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An ISO 3166-1 alpha-2 country code, upper case (`"US"`), stored inline.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country([u8; 2]);

impl Country {
    /// Parses a two-letter code, case-insensitively. Returns `None` for anything else.
    ///
    /// # Example
    /// ```
    /// use jetlag_event::Country;
    /// assert_eq!(Country::from_code("us").unwrap().as_str(), "US");
    /// assert!(Country::from_code("USA").is_none());
    /// ```
    pub fn from_code(code: &str) -> Option<Country> {
        match code.as_bytes() {
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                Some(Country([a.to_ascii_uppercase(), b.to_ascii_uppercase()]))
            }
            _ => None,
        }
    }

    /// Parses a country *name*, alias or code as vendors write it: `"United States"`,
    /// `"South Korea"`, `"Russia"`, `"USA"`, `"de"`, `"Côte d'Ivoire"`, and the English
    /// names of the GeoIP databases (MaxMind's, which Okta's `geographicalContext` writes:
    /// `"Hashemite Kingdom of Jordan"`, `"St Kitts and Nevis"`, `"Åland"`). Case, spaces,
    /// punctuation and accents are ignored; the names `celes` lacks come from jetlag's own
    /// short table, the rest from the `celes` crate's ISO 3166-1 tables. A bare
    /// `"Congo"` is the Democratic Republic of the Congo (`CD`), as GeoIP names it, not
    /// ISO's `CG` (DESIGN.md, "Why is a bare "Congo" CD, …?").
    /// Returns `None` for anything it does not know.
    ///
    /// # Example
    /// ```
    /// use jetlag_event::Country;
    /// assert_eq!(Country::from_name("United States").unwrap().as_str(), "US");
    /// assert_eq!(Country::from_name("Korea, Republic of").unwrap().as_str(), "KR");
    /// assert_eq!(Country::from_name("gb").unwrap().as_str(), "GB");
    /// assert_eq!(Country::from_name("Côte d'Ivoire").unwrap().as_str(), "CI");
    /// assert_eq!(Country::from_name("Republic of Lithuania").unwrap().as_str(), "LT");
    /// assert_eq!(Country::from_name("Congo").unwrap().as_str(), "CD");
    /// assert_eq!(Country::from_name("Republic of the Congo").unwrap().as_str(), "CG");
    /// assert!(Country::from_name("Atlantis").is_none());
    /// ```
    pub fn from_name(name: &str) -> Option<Country> {
        let name = name.trim();
        if name.len() == 2 {
            return Country::from_code(name);
        }
        // Accents folded to ASCII ("Curaçao" → "Curacao"), as celes spells its names.
        let folded;
        let ascii = if name.is_ascii() {
            name
        } else {
            folded = deunicode::deunicode(name);
            &folded
        };
        let mut key = String::with_capacity(ascii.len());
        key.extend(
            ascii
                .chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase),
        );
        if key.is_empty() {
            return None;
        }
        if let Some(&(_, code)) = NAMES.iter().find(|(name, _)| *name == key) {
            return Country::from_code(code);
        }
        let found = key
            .parse::<celes::Country>()
            .or_else(|_| celes::Country::from_alias(&key))
            .ok()
            .or_else(|| {
                // "Korea, Republic of" / "Iran, Islamic Republic of": ISO's inverted form.
                let (head, tail) = name.split_once(',')?;
                Country::from_name(&format!("{} {}", tail.trim(), head.trim()))
                    .and_then(|c| c.as_str().parse::<celes::Country>().ok())
            })?;
        Country::from_code(found.alpha2)
    }

    /// The code as a string slice.
    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

/// Country names that `celes` does not know, or reads as another country, by their key in
/// [`Country::from_name`] (ASCII letters and digits, lower case), looked up before `celes`.
/// First the English names of the GeoIP databases, found by walking every country record
/// of GeoLite2 City (2018) and MaxMind's test databases (`tests/geoip_country_names.rs`
/// checks every name of them), with the spellings MaxMind uses since ("DR Congo", "Congo
/// Republic"); then other spellings vendors and exports write.
const NAMES: [(&str, &str); 22] = [
    // MaxMind's "Congo" is the Democratic Republic (ISO's "Congo" is CG: see DESIGN.md).
    ("congo", "CD"),
    ("drcongo", "CD"),
    ("republicofthecongo", "CG"),
    ("congorepublic", "CG"),
    ("hashemitekingdomofjordan", "JO"),
    ("republicoflithuania", "LT"),
    ("peoplesrepublicofchina", "CN"),
    ("democraticrepublicoftimorleste", "TL"),
    ("myanmarburma", "MM"),
    ("aland", "AX"),
    ("bonairesinteustatiusandsaba", "BQ"),
    ("cocoskeelingislands", "CC"),
    ("pitcairnislands", "PN"),
    ("usminoroutlyingislands", "UM"),
    ("stkittsandnevis", "KN"),
    ("stvincentandgrenadines", "VC"),
    ("stvincentandthegrenadines", "VC"),
    ("saintvincentandgrenadines", "VC"),
    // ISO 3166-1's own name for TW, and common short forms.
    ("taiwanprovinceofchina", "TW"),
    ("hongkongsar", "HK"),
    ("caribbeannetherlands", "BQ"),
    ("uae", "AE"),
];

impl fmt::Debug for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Country {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Country {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Country::from_code(&s).ok_or_else(|| {
            serde::de::Error::custom(format!("'{s}' is not an ISO 3166-1 alpha-2 code"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Country;

    /// Names as vendors write them, accented or not, to their codes.
    #[test]
    fn accented_names_are_known() {
        for (name, code) in [
            ("Côte d'Ivoire", "CI"),
            ("Cote d'Ivoire", "CI"),
            ("Curaçao", "CW"),
            ("Réunion", "RE"),
            ("Åland Islands", "AX"),
            ("São Tomé and Príncipe", "ST"),
            ("Saint Barthélemy", "BL"),
            ("Germany", "DE"),
        ] {
            assert_eq!(
                Country::from_name(name).map(|c| c.as_str().to_owned()),
                Some(code.to_owned()),
                "{name}"
            );
        }
        assert!(Country::from_name("Ätlantis").is_none());
    }

    /// Audit A, B7: GeoIP's English names (what Okta writes) and the other spellings of the
    /// two Congos; ISO's and celes's names keep working. Every name of the real databases
    /// is checked by `tests/geoip_country_names.rs`.
    #[test]
    fn geoip_names_and_both_congos_are_known() {
        for (name, code) in [
            ("Hashemite Kingdom of Jordan", "JO"),
            ("Republic of Lithuania", "LT"),
            ("Republic of the Congo", "CG"),
            ("Congo", "CD"),
            (" congo ", "CD"),
            ("DR Congo", "CD"),
            ("Congo Republic", "CG"),
            ("Congo, Republic of the", "CG"),
            ("Democratic Republic of the Congo", "CD"),
            ("Congo, The Democratic Republic of the", "CD"),
            ("CG", "CG"),
            ("CD", "CD"),
            ("St Kitts and Nevis", "KN"),
            ("Saint Kitts and Nevis", "KN"),
            ("St Vincent and Grenadines", "VC"),
            ("Saint Vincent and the Grenadines", "VC"),
            ("Bonaire, Sint Eustatius, and Saba", "BQ"),
            ("Bonaire, Sint Eustatius and Saba", "BQ"),
            ("Åland", "AX"),
            ("Aland Islands", "AX"),
            ("Cocos [Keeling] Islands", "CC"),
            ("Cocos (Keeling) Islands", "CC"),
            ("Myanmar [Burma]", "MM"),
            ("Myanmar", "MM"),
            ("Democratic Republic of Timor-Leste", "TL"),
            ("Timor-Leste", "TL"),
            ("Pitcairn Islands", "PN"),
            ("U.S. Minor Outlying Islands", "UM"),
            ("People's Republic of China", "CN"),
            ("Türkiye", "TR"),
            ("Turkey", "TR"),
            ("Lithuania", "LT"),
            ("Jordan", "JO"),
            ("Taiwan, Province of China", "TW"),
            ("Hong Kong SAR", "HK"),
            ("Caribbean Netherlands", "BQ"),
            ("UAE", "AE"),
        ] {
            assert_eq!(
                Country::from_name(name).map(|c| c.as_str().to_owned()),
                Some(code.to_owned()),
                "{name}"
            );
        }
    }
}

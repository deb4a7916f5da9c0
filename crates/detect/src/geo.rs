//! Great-circle distance and the uncertainty of a located sign-in.

/// Mean Earth radius in km (IUGG R1 = 6371.0088 km).
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Half the Earth's circumference: no two points are farther apart on the surface.
pub const MAX_DISTANCE_KM: f64 = std::f64::consts::PI * EARTH_RADIUS_KM;

/// Whether `(lat, lon)` are real coordinates (finite, within ±90 / ±180).
pub fn valid(lat: f64, lon: f64) -> bool {
    lat.is_finite()
        && lon.is_finite()
        && (-90.0..=90.0).contains(&lat)
        && (-180.0..=180.0).contains(&lon)
}

/// Great-circle distance in km by the haversine formula on the mean-radius sphere.
///
/// Accurate to about 0.5 % against the WGS-84 ellipsoid (see DESIGN.md "Why haversine?"),
/// well-conditioned for short distances, and correct across the antimeridian and near the
/// poles since it works on angle differences through `sin`.
///
/// # Example
/// ```
/// // Fiji (Suva) to Samoa (Apia) across the antimeridian: about 1,150 km, not 39,000.
/// let d = jetlag_detect::geo::haversine_km(-18.14, 178.44, -13.83, -171.76);
/// assert!((1100.0..1200.0).contains(&d), "{d}");
/// ```
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    // Rounding can push `a` a hair outside [0, 1] near antipodes; clamp instead of NaN.
    2.0 * EARTH_RADIUS_KM * a.clamp(0.0, 1.0).sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_distances() {
        // New York JFK to London LHR: 5,540 km on the ellipsoid.
        let d = haversine_km(40.6413, -73.7781, 51.4700, -0.4543);
        assert!((d - 5540.0).abs() < 30.0, "{d}");
        // Longyearbyen (Svalbard) to Alert (Nunavut) over the Arctic: about 1,396 km though
        // the longitudes differ by 78°.
        let a = haversine_km(78.22, 15.65, 82.50, -62.35);
        assert!((a - haversine_km(82.50, -62.35, 78.22, 15.65)).abs() < 1e-9);
        assert!((1380.0..1410.0).contains(&a), "{a}");
        assert_eq!(haversine_km(10.0, 20.0, 10.0, 20.0), 0.0);
        // Antipodes: half the circumference, not NaN.
        let anti = haversine_km(0.0, 0.0, 0.0, 180.0);
        assert!((anti - MAX_DISTANCE_KM).abs() < 1e-6);
    }

    #[test]
    fn rejects_out_of_range_coordinates() {
        assert!(valid(90.0, -180.0));
        assert!(!valid(91.0, 0.0));
        assert!(!valid(0.0, f64::NAN));
        assert!(!valid(0.0, 180.5));
    }
}

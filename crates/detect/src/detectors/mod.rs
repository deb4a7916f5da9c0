//! One module per detector.

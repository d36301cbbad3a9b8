//! Room: registry (名册). The district's region tree, liaison stations, deputies,
//! handling units and working committees, and the two public codes (代表码、联络站码).

pub mod scope;

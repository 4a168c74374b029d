//! Bayesian optimization's parts: the Gaussian process ([`gp`]) and the acquisition
//! function ([`acquisition`]). The searcher that combines them comes next.

pub mod acquisition;
pub mod gp;

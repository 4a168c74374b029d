//! Bayesian optimization: the Gaussian process ([`gp`]), the acquisition function
//! ([`acquisition`]) and the searcher that combines them ([`BoSearcher`]).

pub mod acquisition;
pub mod gp;
mod searcher;

pub use searcher::BoSearcher;

//! Bayesian optimization: the Gaussian process ([`gp`]) and the objective its
//! hyperparameters are fitted by ([`likelihood`]), the acquisition function
//! ([`acquisition`]) and the searcher that combines them ([`BoSearcher`]).

pub mod acquisition;
pub mod gp;
pub mod likelihood;
mod searcher;

pub use searcher::BoSearcher;

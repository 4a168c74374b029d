//! Bayesian optimization: the Gaussian process ([`gp`]) and the objective its
//! hyperparameters are fitted by ([`likelihood`]), the acquisition function
//! ([`acquisition`]), its maximization over the unit cube (`optimize`) and the searcher
//! that combines them ([`BoSearcher`]).

pub mod acquisition;
mod feasibility;
pub mod gp;
pub mod likelihood;
mod optimize;
mod propose;
mod searcher;

pub use searcher::BoSearcher;

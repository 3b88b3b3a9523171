//! Drivers by the pid of their driver process: every call names its
//! driver by that pid.

use crate::driver::Driver;
use rustler::{Error, LocalPid, NifResult};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

static DRIVERS: LazyLock<RwLock<HashMap<LocalPid, Arc<Driver>>>> = LazyLock::new(Default::default);

/// The driver of a driver pid; badarg for anything else.
pub fn lookup(drv: LocalPid) -> NifResult<Arc<Driver>> {
    let drivers = DRIVERS.read().map_err(|_| Error::BadArg)?;
    drivers.get(&drv).cloned().ok_or(Error::BadArg)
}

pub fn insert(drv: LocalPid, driver: Arc<Driver>) {
    if let Ok(mut drivers) = DRIVERS.write() {
        drivers.insert(drv, driver);
    }
}

pub fn remove(drv: LocalPid) {
    if let Ok(mut drivers) = DRIVERS.write() {
        drivers.remove(&drv);
    }
}

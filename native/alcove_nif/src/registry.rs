//! Drivers by the pid of their driver process: every call names its
//! driver by that pid.

use crate::driver::DriverResource;
use rustler::{Error, LocalPid, NifResult, ResourceArc};
use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};

static DRIVERS: LazyLock<RwLock<HashMap<LocalPid, ResourceArc<DriverResource>>>> =
    LazyLock::new(Default::default);

/// The driver resource of a driver pid. A pid that is no (longer a)
/// running driver raises `alcove_no_driver`, which alcove_drv turns into
/// `closed` for a driver that stopped and `badarg` for any other pid. The
/// registry keeps the resource (and the monitors made on it) alive until
/// the driver stops.
pub fn lookup(drv: LocalPid) -> NifResult<ResourceArc<DriverResource>> {
    let missing = || Error::RaiseAtom("alcove_no_driver");
    let drivers = DRIVERS.read().map_err(|_| missing())?;
    drivers.get(&drv).cloned().ok_or_else(missing)
}

pub fn insert(drv: LocalPid, driver: ResourceArc<DriverResource>) {
    if let Ok(mut drivers) = DRIVERS.write() {
        drivers.insert(drv, driver);
    }
}

pub fn remove(drv: LocalPid) {
    if let Ok(mut drivers) = DRIVERS.write() {
        drivers.remove(&drv);
    }
}

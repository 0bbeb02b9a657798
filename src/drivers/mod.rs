//! Device drivers (MMIO through `tock-registers`) and the character
//! devices user space opens under `/dev` ([`chardev`]).
pub mod a9_global_timer;
pub mod bcm2835_aux;
pub mod bcm2836;
pub mod chardev;
pub mod devmem;
pub mod dmabuf;
pub mod gic;
pub mod imx_uart;
pub mod irq;
pub mod pl011;
pub mod pl310;
#[cfg(target_os = "none")]
pub mod tick;
pub mod tty;
pub mod uart;
pub mod uart16550;

/// Register the kernel's own character devices (boot, before `/init`).
/// A driver that cannot start (no memory for its buffer) is left out
/// with a message; the others still register.
pub fn register_chardevs() {
    use chardev::{register, Node};
    let mem = Node {
        name: "mem",
        rdev: devmem::RDEV,
        mode: devmem::MODE,
        dev: &devmem::DEV_MEM,
    };
    if let Err(e) = register(mem) {
        crate::kprintln!("chardev: /dev/mem not registered: {}", e.name());
    }
    match dmabuf::init() {
        Ok(dev) => {
            let node = Node {
                name: "dmabuf0",
                rdev: dmabuf::RDEV,
                mode: dmabuf::MODE,
                dev,
            };
            if let Err(e) = register(node) {
                crate::kprintln!("chardev: /dev/dmabuf0 not registered: {}", e.name());
            }
        }
        Err(e) => crate::kprintln!("dmabuf0: not started: {}", e.name()),
    }
}

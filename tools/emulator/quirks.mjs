// Host-side models that rp2040js 1.4.1 lacks or gets wrong, for MicroPython's
// rp2 port. Each function patches one peripheral of one RP2040 instance.

/**
 * UART with a real TX FIFO and a host-side RX queue.
 *
 * rp2040js raises the TX interrupt on every interrupt check and never clears
 * it, so MicroPython's UART IRQ handler runs forever and machine.UART() never
 * returns. Here the TX FIFO holds 32 bytes and drains at the programmed baud
 * rate; the TX interrupt is raised when it has drained (the PL011 raises it on
 * crossing its trigger level, not while the level holds).
 *
 * rp2040js's 32-byte RX FIFO drops whatever does not fit, so received bytes
 * wait in a host queue and enter the FIFO only while it has room. The receive
 * timeout interrupt, which rp2040js lacks, is raised when the line goes idle.
 *
 * send(bytes) queues bytes for the board; onTx(Buffer) gets what it sent.
 */
export function patchUart(mcu, uart, onTx) {
  const TXFE = 1 << 7, TXFF = 1 << 5, RXFF = 1 << 6, RXFE = 1 << 4, BUSY = 1 << 3;
  const TXINTR = 1 << 5;
  const FIFO_SIZE = 32;
  const tx = [];
  const rxQueue = []; // Buffers not yet in the RX FIFO
  let rxOff = 0; // read offset into rxQueue[0]

  const drain = mcu.clock.createAlarm(() => {
    if (tx.length) onTx(Buffer.from(tx.splice(0)));
    uart.interruptStatus |= TXINTR;
    uart.checkInterrupts();
  });
  // A full FIFO's worth of byte times (10 bits a byte: start, 8 data, stop).
  const drainNanos = () => (FIFO_SIZE * 10 * 1e9) / (uart.baudRate || 115200);

  uart.onByte = (b) => {
    if (tx.length >= FIFO_SIZE) return; // overrun, as on the chip
    tx.push(b);
    if (tx.length === 1) drain.schedule(drainNanos());
  };
  Object.defineProperty(uart, 'flags', {
    get() {
      return (tx.length === 0 ? TXFE : 0) | (tx.length >= FIFO_SIZE ? TXFF : 0) |
        (tx.length ? BUSY : 0) |
        (uart.rxFIFO.full ? RXFF : 0) | (uart.rxFIFO.empty ? RXFE : 0);
    },
  });
  // The stock version ORs TXINTR in on every call; keep only what is set.
  uart.checkInterrupts = function () {
    mcu.setInterrupt(this.irq, !!(this.interruptStatus & this.interruptMask));
  };

  // Receive timeout (the PL011's RT interrupt, machine.UART.IRQ_RXIDLE):
  // rp2040js never raises it. Raised here once the line has been idle for
  // 32 bit times after bytes came, so a handler hears of each burst.
  const RTINTR = 1 << 6;
  const idle = mcu.clock.createAlarm(() => {
    uart.interruptStatus |= RTINTR;
    uart.checkInterrupts();
  });
  const idleNanos = () => (32 * 1e9) / (uart.baudRate || 115200);

  function fill() {
    // Only once the firmware has enabled the UART: a disabled one would lose them.
    if (!uart.enabled) return;
    let fed = false;
    while (rxQueue.length && !uart.rxFIFO.full) {
      const buf = rxQueue[0];
      uart.feedByte(buf[rxOff++]);
      fed = true;
      if (rxOff >= buf.length) { rxQueue.shift(); rxOff = 0; }
    }
    if (fed) idle.schedule(idleNanos());
  }
  // Refill as soon as the firmware empties the FIFO, so a burst flows at the
  // speed the firmware reads, not at the speed of our main loop.
  const readUint32 = uart.readUint32.bind(uart);
  uart.readUint32 = (offset) => {
    const v = readUint32(offset);
    if (offset === 0 && uart.rxFIFO.empty) fill();
    return v;
  };
  return {
    send(bytes) { if (bytes.length) { rxQueue.push(bytes); fill(); } },
    fill,
    get queued() { return rxQueue.reduce((n, b) => n + b.length, 0) - rxOff; },
  };
}

/**
 * USB CDC reads that wait for data.
 *
 * rp2040js's USBCDC answers every OUT transfer the firmware arms at once, with
 * zero bytes when the host has nothing to type. TinyUSB re-arms immediately:
 * an interrupt storm that slows the firmware about 2.5x. A real host NAKs
 * until it has data, so hold the read back until there is some.
 */
export function patchCdc(mcu, cdc) {
  const usb = cdc.usb;
  startOfFrames(mcu, usb);
  const queue = [];
  let pending = null; // size of the OUT transfer the firmware has armed
  function answer() {
    const n = Math.min(pending, queue.length);
    usb.endpointReadDone(cdc.outEndpoint, Uint8Array.from(queue.splice(0, n)));
    pending = null;
  }
  const original = usb.onEndpointRead;
  usb.onEndpointRead = (endpoint, size) => {
    if (endpoint !== cdc.outEndpoint) return original(endpoint, size);
    pending = size;
    if (queue.length) answer();
  };
  return {
    send(bytes) {
      for (const b of bytes) queue.push(b);
      if (pending !== null && queue.length) answer();
    },
  };
}

/**
 * Watchdog resets that reset the chip.
 *
 * rp2040js calls onWatchdogTrigger and then re-arms the alarm at the same
 * instant, forever, unless someone reloads the counter. Stop the watchdog and
 * ask for a reset; the caller rebuilds the chip (keeping flash and the
 * watchdog's scratch and reason registers, as a real reset would).
 */
export function patchWatchdog(mcu, onReset) {
  const wd = mcu.peripherals[0x40058];
  wd.onWatchdogTrigger = () => {
    wd.alarm.enable = false;
    wd.timer.enable = false;
    onReset(wd.reason === 1 ? 'timer' : 'forced');
  };
  return wd;
}

/**
 * USB start-of-frame interrupts in device mode.
 *
 * A USB host sends a SOF every millisecond; rp2040js makes none in device
 * mode. MicroPython holds console output written before the host opened the
 * port (the boot banner, boot.py's prints) until 16 SOFs after DTR, so
 * without them that output never appears. Raise the device SOF interrupt
 * every emulated millisecond while the firmware has it enabled; reading
 * SOF_RD clears it, as on the chip.
 */
function startOfFrames(mcu, usb) {
  const INTE = 0x90, SOF_RD = 0x48, INTR_DEV_SOF = 1 << 17;
  const alarm = mcu.clock.createAlarm(() => {
    if (!(usb.intEnable & INTR_DEV_SOF)) { running = false; return; }
    usb.sofFrameNumber = (usb.sofFrameNumber + 1) & 0x7ff;
    usb.intRaw |= INTR_DEV_SOF;
    usb.checkInterrupts();
    alarm.schedule(1e6);
  });
  let running = false;
  const write = usb.writeUint32.bind(usb);
  usb.writeUint32 = (offset, value) => {
    write(offset, value);
    if (offset === INTE && usb.intEnable & INTR_DEV_SOF && !running) {
      running = true;
      alarm.schedule(1e6);
    }
  };
  const read = usb.readUint32.bind(usb);
  usb.readUint32 = (offset) => {
    if (offset === SOF_RD && usb.intRaw & INTR_DEV_SOF) {
      usb.intRaw &= ~INTR_DEV_SOF;
      usb.checkInterrupts();
    }
    return read(offset);
  };
}

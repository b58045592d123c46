// Run a MicroPython RP2040 firmware image in rp2040js, wired to the host.
//
//   node tools/emulator/run.mjs IMAGE.uf2 [--bootrom PATH] [--uart-fd N]
//
//   stdin   -> typed into the board's USB-CDC console (the REPL)
//   stdout  <- everything the board prints on that console, raw, unbuffered
//   --uart-fd N <-> UART0, raw bytes both ways: a socketpair or pipe-like
//               stream the parent passed; tests/board/emulator.py runs SLIP
//               over it. Without it UART0's output is discarded.
//   stderr  <- diagnostics, one line each, prefixed "[runner]":
//               "[runner] usb connected after 0.41s"
//               "[runner] watchdog reset (timer)"   the WDT expired; chip resets
//               "[runner] reset (forced)"           machine.reset() and the like
//
// Exits 0 when stdin closes, on SIGTERM or SIGINT.
//
// Emulated time follows wall time: rp2040js's Simulator jumps its clock to the
// next timer alarm whenever the core sleeps, so lwIP's and asyncio's timers
// would run many times too fast. This loop instead lets emulated time catch
// up with the wall clock, and sleeps for real when the firmware sleeps. The
// core executes well below a real RP2040's speed (measured here: 12-23 M
// instructions/s, one host core), so busy code looks like a slower CPU, while
// timeouts keep their real length.
//
// RUNNER_STATS=1 logs the execution rate every 5 s.
// RUNNER_PROFILE=FILE samples the program counter (about one instruction in
// 1000) and rewrites FILE every second with the counts so far, as JSON
// {"pc hex": count}: tests/board/pcprofile.py names the functions.

import fs from 'fs';
import net from 'net';
import path from 'path';
import { fileURLToPath } from 'url';
import { RP2040, USBCDC, ConsoleLogger, LogLevel } from 'rp2040js';
import { patchUart, patchCdc, patchWatchdog } from './quirks.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');

// The RP2040 B1 boot ROM: RP2040_BOOTROM, else the offline bundle's, else the
// one tools/bootrom.py fetched (it says how each comes and fetches the last).
function defaultBootrom() {
  if (process.env.RP2040_BOOTROM) return path.resolve(process.env.RP2040_BOOTROM);
  const bundled = path.resolve(REPO, '..', 'shared', 'micropython', 'rp2040-bootrom-b1.mjs');
  const fetched = path.resolve(REPO, 'build', 'emulator', 'rp2040-bootrom-b1.mjs');
  return fs.existsSync(bundled) || !fs.existsSync(fetched) ? bundled : fetched;
}

function parseArgs(argv) {
  const opts = { image: null, uartFd: null, bootrom: defaultBootrom() };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--bootrom') opts.bootrom = path.resolve(argv[++i]);
    else if (argv[i] === '--uart-fd') opts.uartFd = Number(argv[++i]);
    else if (!opts.image) opts.image = argv[i];
    else throw new Error(`unexpected argument ${argv[i]}`);
  }
  if (!opts.image) throw new Error('usage: run.mjs IMAGE.uf2 [--bootrom PATH] [--uart-fd N]');
  return opts;
}

const log = (msg) => process.stderr.write(`[runner] ${msg}\n`);

function loadUf2(flash, file) {
  const buf = fs.readFileSync(file);
  for (let off = 0; off + 512 <= buf.length; off += 512) {
    if (buf.readUInt32LE(off) !== 0x0a324655) throw new Error(`${file}: not a UF2 image`);
    const addr = buf.readUInt32LE(off + 12), len = buf.readUInt32LE(off + 16);
    flash.set(buf.subarray(off + 32, off + 32 + len), addr - 0x10000000);
  }
}

const opts = parseArgs(process.argv.slice(2));
const { bootromB1 } = await import(opts.bootrom);
const t0 = performance.now();

// UART0's host end: the descriptor --uart-fd names. (Not a default fd 3: node
// itself may hold that one.)
let uartSock = null;
if (opts.uartFd !== null) {
  const st = fs.fstatSync(opts.uartFd);
  if (!st.isSocket() && !st.isFIFO()) throw new Error(`--uart-fd ${opts.uartFd} is not a socket or pipe`);
  uartSock = new net.Socket({ fd: opts.uartFd, readable: true, writable: true });
}

// ---- the chip; rebuilt on every reset ---------------------------------------
let mcu, uart0, cdc, wakeAt = 0, resetReason = null, bootWall = 0;

function boot(prev) {
  mcu = new RP2040();
  mcu.loadBootrom(bootromB1); // (also clears flash)
  mcu.logger = new ConsoleLogger(LogLevel.Error);
  if (prev) {
    // A reset keeps flash (the filesystem) and the watchdog's registers.
    mcu.flash.set(prev.flash);
    const [wdOld, wdNew] = [prev.peripherals[0x40058], mcu.peripherals[0x40058]];
    wdNew.scratchData.set(wdOld.scratchData);
    wdNew.reason = wdOld.reason;
  } else {
    loadUf2(mcu.flash, opts.image);
  }
  bootWall = performance.now();
  uart0 = patchUart(mcu, mcu.uart[0], (bytes) => uartSock?.write(bytes));
  patchWatchdog(mcu, (why) => { resetReason = why; });
  const usb = new USBCDC(mcu.usbCtrl);
  usb.onDeviceConnected = () => log(`usb connected after ${((performance.now() - t0) / 1000).toFixed(2)}s`);
  usb.onSerialData = (data) => process.stdout.write(data);
  cdc = patchCdc(mcu, usb);
  mcu.core.PC = 0x10000000; // boot stage 2 in flash, as the bootrom would
}

// ---- host input ---------------------------------------------------------------
process.stdin.on('data', (d) => { cdc.send(d); wake(); });
process.stdin.on('end', () => shutdown('stdin closed'));
if (uartSock) {
  uartSock.on('data', (d) => {
    uart0.send(d);
    // Back-pressure: stop reading while the board is behind.
    if (uart0.queued > 256 * 1024) uartSock.pause();
    wake();
  });
  uartSock.on('error', (e) => log(`uart fd: ${e.message}`));
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

function shutdown(why) {
  log(`exit: ${why}`);
  process.stdout.write('', () => process.exit(0));
}

// ---- the execution loop ---------------------------------------------------------
const CYCLE_NS = 8; // 125 MHz
const wallNanos = () => (performance.now() - bootWall) * 1e6;

// RUNNER_STATS=1: every 5 s, how fast the core executes, and how busy it was:
// the share of wall time it ran, the share it slept (WFI/WFE: the firmware
// had nothing to do), the rest the host did not run this process (its CPU is
// short) or carried bytes; and its speed while it ran (below a quiet
// machine's 12-23 M/s, the host's CPU is short too).
const stats = { instructions: 0, cycles0: 0, wall0: performance.now(), busyMs: 0, asleepMs: 0, asleepSince: 0 };
if (process.env.RUNNER_STATS) {
  setInterval(() => {
    const wall = (performance.now() - stats.wall0) / 1000;
    const busy = stats.busyMs / 1000;
    log(`stats: ${(stats.instructions / wall / 1e6).toFixed(1)} M instructions/s, ` +
        `${(mcu.core.cycles - stats.cycles0) / wall / 1e6 | 0} M cycles/s, ` +
        `busy ${(100 * busy / wall).toFixed(0)}% at ${(stats.instructions / Math.max(busy, 1e-3) / 1e6).toFixed(1)} M/s, ` +
        `asleep ${(100 * stats.asleepMs / 1000 / wall).toFixed(0)}%`);
    Object.assign(stats, { instructions: 0, cycles0: mcu.core.cycles, wall0: performance.now(), busyMs: 0, asleepMs: 0 });
  }, 5000).unref();
}
// RUNNER_PROFILE: a sample every 1000 instructions on average (a varying
// stride, so that a loop's period cannot hide in it).
const profile = process.env.RUNNER_PROFILE ? new Map() : null;
let sampleIn = 1000;
if (profile) {
  const write = () => {
    const out = {};
    for (const [pc, n] of profile) out[pc.toString(16)] = n;
    const file = process.env.RUNNER_PROFILE;
    fs.writeFileSync(file + '.tmp', JSON.stringify(out));
    fs.renameSync(file + '.tmp', file);
  };
  setInterval(write, 1000).unref();
  process.on('exit', write);
}

let timer = null;

function wake() {
  if (timer) { clearTimeout(timer); timer = null; setImmediate(run); }
}

function run() {
  timer = null;
  if (stats.asleepSince) {
    stats.asleepMs += performance.now() - stats.asleepSince;
    stats.asleepSince = 0;
  }
  const sliceEnd = performance.now() + 20; // then let node handle I/O
  const { clock } = mcu;
  for (;;) {
    // A batch of instructions between clock checks (a few hundred us).
    let i = 0;
    const batchStart = performance.now();
    if (profile) {
      for (; i < 3000 && !mcu.core.waiting; i++) {
        if (--sampleIn === 0) {
          const pc = mcu.core.PC;
          profile.set(pc, (profile.get(pc) || 0) + 1);
          sampleIn = 500 + ((pc * 7919 + i) % 1000);
        }
        clock.tick(mcu.core.executeInstruction() * CYCLE_NS);
      }
    } else {
      for (; i < 3000 && !mcu.core.waiting; i++) {
        clock.tick(mcu.core.executeInstruction() * CYCLE_NS);
      }
    }
    if (i) stats.busyMs += performance.now() - batchStart;
    stats.instructions += i;
    if (resetReason) {
      log(resetReason === 'timer' ? 'watchdog reset (timer)' : `reset (${resetReason})`);
      resetReason = null;
      boot(mcu);
      setImmediate(run);
      return;
    }
    const now = wallNanos();
    if (clock.nanos < now) {
      // Catch up with the wall clock, firing the alarms that fell due.
      const next = clock.nanosToNextAlarm;
      clock.tick(mcu.core.waiting && next > 0 ? Math.min(next, now - clock.nanos) : now - clock.nanos);
    }
    if (uartSock?.isPaused() && uart0.queued < 64 * 1024) uartSock.resume();
    if (mcu.core.waiting) {
      // Asleep (WFI/WFE) until an interrupt: sleep for real until the next
      // alarm is due or host input arrives (wake()).
      const next = clock.nextAlarm ? clock.nextAlarm.nanos : Infinity;
      const ahead = next - wallNanos();
      if (ahead > 0) {
        const ms = Math.min(ahead / 1e6, 50);
        if (ms >= 1) {
          timer = setTimeout(run, ms);
          stats.asleepSince = performance.now();
          return;
        }
        if (performance.now() > sliceEnd) { setImmediate(run); return; }
        continue; // due within a millisecond: spin
      }
      clock.tick(Math.max(0, next - clock.nanos));
    }
    if (performance.now() > sliceEnd) { setImmediate(run); return; }
  }
}

boot(null);
log(`booting ${opts.image}`);
run();

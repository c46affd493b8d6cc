import { readdirSync, readFileSync } from 'node:fs';
import { arg, freePort, getJson, serveReplay, startEngine, waitFor, type Proc } from './procs.js';

/**
 * Bounded soak: `papertape run` trades from serve-replay at --speed (default 100x) for --minutes
 * (default 10); when the recordings have been played, serve-replay is started again on the same port
 * (the engine reconnects and resyncs on its own), so the engine sees market data the whole time.
 * Every --every seconds (default 10) the engine's RSS and open file descriptors (/proc/<pid>) and its
 * JS heap and active handles (GET /metrics/prometheus) are sampled. Reports start, end, max and the slope (least
 * squares, per hour) of each, over the whole run and over its second half (after the warm-up).
 *
 *   npm run soak -- --minutes 10 --speed 100
 */
const minutes = arg('minutes', 10);
const speed = arg('speed', 100);
const every = arg('every', 10);

interface Sample {
  t: number;
  rssMb: number;
  heapMb: number;
  fds: number;
  handles: number;
}

const port = await freePort();
const startReplay = async (): Promise<Proc> => {
  const p = serveReplay(port, speed);
  await waitFor('serve-replay to listen', async () => /listening on/.test(p.out()), 60_000);
  return p;
};
let replay = await startReplay();
let loops = 1;
const engine = await startEngine(port, { API_RATE_LIMIT: '0' });
const pid = engine.proc.child.pid!;
const metric = (text: string, name: string): number => {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
};
const sample = async (t0: number): Promise<Sample> => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
  const fds = readdirSync(`/proc/${pid}/fd`).length;
  const text = await (await fetch(`${engine.api}/metrics/prometheus`)).text();
  return { t: (Date.now() - t0) / 1000, rssMb: rssKb / 1024, heapMb: metric(text, 'nodejs_heap_size_used_bytes') / 2 ** 20, fds, handles: metric(text, 'nodejs_active_handles_total') };
};
/** least-squares slope of y over t (s), per hour */
const slope = (xs: Sample[], key: keyof Sample): number => {
  const n = xs.length;
  if (n < 2) return 0;
  const mt = xs.reduce((a, s) => a + s.t, 0) / n;
  const my = xs.reduce((a, s) => a + s[key], 0) / n;
  let num = 0;
  let den = 0;
  for (const s of xs) {
    num += (s.t - mt) * (s[key] - my);
    den += (s.t - mt) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 3600;
};
const r = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

const samples: Sample[] = [];
try {
  await waitFor('both books synced', async () => {
    const s = await getJson(`${engine.api}/status`);
    return ['spot', 'usdm'].every((v) => s.feeds?.[v]?.books?.BTCUSDT?.state === 'synced');
  }, 60_000, 200);
  const t0 = Date.now();
  const end = t0 + minutes * 60_000;
  let next = t0;
  process.stderr.write(`soak: ${minutes} min at ${speed}x, a sample every ${every} s (engine pid ${pid})\n`);
  while (Date.now() < end) {
    if (engine.proc.child.exitCode !== null) throw new Error(`the engine exited (${engine.proc.child.exitCode}):\n${engine.proc.out().slice(-3000)}`);
    if (Date.now() >= next) {
      const s = await sample(t0);
      samples.push(s);
      process.stderr.write(`  t=${r(s.t, 0)} s rss ${r(s.rssMb)} MB heap ${r(s.heapMb)} MB fds ${s.fds} handles ${s.handles} replay loops ${loops}\n`);
      next += every * 1000;
    }
    const rs = await getJson(`http://127.0.0.1:${port}/replay/status`).catch(() => null);
    if (rs?.finished) {
      await replay.stop();
      replay = await startReplay();
      loops++;
    }
    await new Promise((res) => setTimeout(res, 500));
  }
  samples.push(await sample(t0));
  const st = await getJson(`${engine.api}/status`);
  const half = samples.filter((s) => s.t >= (minutes * 60) / 2);
  const summary = (key: keyof Sample) => ({
    start: r(samples[0]![key]),
    end: r(samples[samples.length - 1]![key]),
    max: r(Math.max(...samples.map((s) => s[key]))),
    slopePerHour: r(slope(samples, key), 2),
    secondHalfSlopePerHour: r(slope(half, key), 2),
  });
  const report = {
    minutes,
    speed,
    samples: samples.length,
    replayLoops: loops,
    rssMb: summary('rssMb'),
    heapMb: summary('heapMb'),
    fds: summary('fds'),
    handles: summary('handles'),
    engine: {
      messages: st.counters?.messages ?? null,
      orders: st.counters?.orders ?? null,
      reconnects: ['spot', 'usdm'].reduce((a, v) => a + (st.feeds[v].connections as { reconnects: number }[]).reduce((b, c) => b + c.reconnects, 0), 0),
    },
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  const row = (name: string, s: ReturnType<typeof summary>) => `| ${name} | ${s.start} | ${s.end} | ${s.max} | ${s.slopePerHour} | ${s.secondHalfSlopePerHour} |`;
  process.stdout.write(
    [`| ${minutes} min at ${speed}x (${loops} replays) | start | end | max | slope /h | 2nd-half slope /h |`, '|---|---|---|---|---|---|', row('RSS (MB)', report.rssMb), row('JS heap used (MB)', report.heapMb), row('open fds', report.fds), row('active handles', report.handles)].join('\n') + '\n',
  );
} finally {
  await engine.proc.stop();
  await replay.stop();
  engine.cleanup();
}

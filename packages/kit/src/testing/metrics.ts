import { METRICS_PATH } from '../http/health.js';

/** The value of one series on a service's Prometheus endpoint (METRICS_PATH), e.g. `hub_proxy_retries_total{service="x"}`; 0 when absent. */
export async function metricValue(service: { url: string }, series: string): Promise<number> {
  const text = await (await fetch(`${service.url}${METRICS_PATH}`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** The sum of every series of `name` whose labels contain all of `labels` (e.g. `outcome="duplicate"`), across `services`. */
export async function metricSum(services: { url: string }[], name: string, ...labels: string[]): Promise<number> {
  let sum = 0;
  for (const service of services) {
    for (const line of (await (await fetch(`${service.url}${METRICS_PATH}`)).text()).split('\n')) {
      const match = /^([a-z_:]+)\{(.*)\} (\S+)$/.exec(line);
      if (match?.[1] === name && labels.every((label) => match[2]!.includes(label))) sum += Number(match[3]);
    }
  }
  return sum;
}

/** The value of one series on a service's /metrics, e.g. `hub_proxy_retries_total{service="x"}`; 0 when absent. */
export async function metricValue(service: { url: string }, series: string): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

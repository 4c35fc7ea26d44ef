import type { Logger } from './logging.js';

/**
 * Metrics as structured log events: `metric {"metric":"conversion.finished","value":1,"registry":"…",…}`.
 *
 * Why not an OpenTelemetry SDK: the Functions host already ships every log line of an invocation to Application
 * Insights (with the invocation and operation ids), so a metric written as a log event needs no exporter, no SDK
 * in the cold-start path and no second pipeline; docs/queries.kql and the Bicep alert rules aggregate them with
 * `parse_json`. The cost is that trace sampling must not drop them (host.json keeps traces unsampled below its
 * rate limit; see docs/operations.md).
 */
export interface Metrics {
  count(metric: string, dimensions?: Readonly<Record<string, string | number | undefined>>, value?: number): void;
  observe(metric: string, value: number, dimensions?: Readonly<Record<string, string | number | undefined>>): void;
}

export const metricPrefix = 'metric ';

export function logMetrics(log: Logger): Metrics {
  const emit = (
    metric: string,
    value: number,
    dimensions: Readonly<Record<string, string | number | undefined>> = {},
  ): void => {
    const defined = Object.fromEntries(Object.entries(dimensions).filter(([, dimension]) => dimension !== undefined));
    log.info(`${metricPrefix}${JSON.stringify({ metric, value, ...defined })}`);
  };
  return {
    count: (metric, dimensions, value = 1) => emit(metric, value, dimensions),
    observe: (metric, value, dimensions) => emit(metric, value, dimensions),
  };
}

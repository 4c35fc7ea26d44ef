import type { EventGridHandler, HttpHandler, HttpMethod, StorageQueueHandler, TimerHandler } from '@azure/functions';

/**
 * A function is declared once — name, trigger, options, handler — and that one declaration is both registered
 * with `@azure/functions` (functions/index.ts, for Azure and `func start`) and served by the local host
 * (dev/host), so what runs locally is what runs in Azure.
 */
export type FunctionDeclaration = HttpFunction | EventGridFunction | QueueFunction | TimerFunction;

export type AuthLevel = 'anonymous' | 'function' | 'admin';

export interface HttpFunction {
  readonly name: string;
  readonly trigger: {
    readonly type: 'http';
    /** Route template under /api, e.g. `registries/{registry}/policies/{*scope}`. */
    readonly route: string;
    readonly methods: readonly HttpMethod[];
    readonly authLevel: AuthLevel;
  };
  readonly handler: HttpHandler;
}

export interface EventGridFunction {
  readonly name: string;
  readonly trigger: { readonly type: 'eventGrid' };
  readonly handler: EventGridHandler;
}

export interface QueueFunction {
  readonly name: string;
  readonly trigger: {
    readonly type: 'storageQueue';
    readonly queueName: string;
    /** Name of the app setting holding the connection (the host's convention), normally AzureWebJobsStorage. */
    readonly connection: string;
  };
  readonly handler: StorageQueueHandler;
}

export interface TimerFunction {
  readonly name: string;
  readonly trigger: {
    readonly type: 'timer';
    /** Six-field NCRONTAB, or `%SETTING%` naming an app setting that holds one. */
    readonly schedule: string;
    readonly runOnStartup?: boolean;
  };
  readonly handler: TimerHandler;
}

/** The subset of `@azure/functions`' `app` the registration needs; typed so tests can pass a recorder. */
export interface FunctionsApp {
  http(
    name: string,
    options: { route: string; methods: HttpMethod[]; authLevel: AuthLevel; handler: HttpHandler },
  ): void;
  eventGrid(name: string, options: { handler: EventGridHandler }): void;
  storageQueue(name: string, options: { queueName: string; connection: string; handler: StorageQueueHandler }): void;
  timer(name: string, options: { schedule: string; runOnStartup: boolean; handler: TimerHandler }): void;
}

export const isHttpFunction = (declaration: FunctionDeclaration): declaration is HttpFunction =>
  declaration.trigger.type === 'http';
export const isEventGridFunction = (declaration: FunctionDeclaration): declaration is EventGridFunction =>
  declaration.trigger.type === 'eventGrid';
export const isQueueFunction = (declaration: FunctionDeclaration): declaration is QueueFunction =>
  declaration.trigger.type === 'storageQueue';
export const isTimerFunction = (declaration: FunctionDeclaration): declaration is TimerFunction =>
  declaration.trigger.type === 'timer';

export function registerCatalog(app: FunctionsApp, catalog: readonly FunctionDeclaration[]): void {
  for (const declaration of catalog) {
    if (isHttpFunction(declaration)) {
      const { route, methods, authLevel } = declaration.trigger;
      app.http(declaration.name, { route, methods: [...methods], authLevel, handler: declaration.handler });
    } else if (isEventGridFunction(declaration)) {
      app.eventGrid(declaration.name, { handler: declaration.handler });
    } else if (isQueueFunction(declaration)) {
      const { queueName, connection } = declaration.trigger;
      app.storageQueue(declaration.name, { queueName, connection, handler: declaration.handler });
    } else if (isTimerFunction(declaration)) {
      const { schedule, runOnStartup } = declaration.trigger;
      app.timer(declaration.name, { schedule, runOnStartup: runOnStartup ?? false, handler: declaration.handler });
    }
  }
}

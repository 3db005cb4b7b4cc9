// Types for the part of autocannon's API the benchmark uses (the package ships none).
declare module 'autocannon' {
  interface Options {
    url: string;
    socketPath?: string;
    connections?: number;
    duration?: number;
    maxOverallRequests?: number;
    method?: string;
    body?: string;
    headers?: Record<string, string>;
    timeout?: number;
  }
  interface Result {
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    '2xx': number;
    requests: { total: number; average: number };
  }
  function autocannon(opts: Options): Promise<Result>;
  export default autocannon;
}

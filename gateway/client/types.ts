// The shapes TitanClient's calls take and return (what the gateway's REST routes answer).

/** A secret as GET /secrets lists it: never its value. */
export interface SecretListing {
  name: string;
  updated_at: string;
}

/** One entry of a stream (a topic, the results, the DLQ): its id and its fields as stored. */
export type StreamEntry = Record<string, string> & { id: string };

export type PoolUpdate = Partial<{
  min: number;
  max: number;
  concurrency: number;
  idle_sec: number;
}>;

export interface InvokeResponse {
  /** the function's result, parsed */
  result: unknown;
  invocationId?: string;
  coldStart?: boolean;
}

/** One line of a function container's output (GET /functions/:name/logs, /invocations/:id/logs). */
export interface LogLineView {
  /** epoch ms */
  time: number;
  stream: 'stdout' | 'stderr';
  /** absent for output outside any invocation */
  invocationId?: string;
  /** the container's short id */
  container: string;
  text: string;
}

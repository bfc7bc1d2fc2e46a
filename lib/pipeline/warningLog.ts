/**
 * Collects the warnings of a run for report.json, once each: a warning repeated (a base model that does not
 * converge in every co-training round, say) is listed once with its count.
 */
export class WarningLog {
  private readonly counts = new Map<string, number>();
  readonly add = (message: string): void => {
    this.counts.set(message, (this.counts.get(message) ?? 0) + 1);
  };
  list(): string[] {
    return [...this.counts].map(([message, count]) => (count > 1 ? `${message} (${count} times)` : message));
  }
}

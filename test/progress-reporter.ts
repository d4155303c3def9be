import type { Reporter, TestModule, TestSpecification, Vitest } from "vitest/node";

/**
 * One line per finished test file (`✓ 12/64 workers src/features/chat/chat.test.ts: 64 tests, 9.8 s`), so a
 * run that takes minutes shows that it moves. It runs beside Vitest's "minimal" reporter, which still prints
 * the failures and the summary.
 */
export default class ProgressReporter implements Reporter {
  #vitest: Vitest | undefined;
  #files = 0;
  #finished = 0;

  onInit(vitest: Vitest): void {
    this.#vitest = vitest;
  }

  onTestRunStart(specifications: ReadonlyArray<TestSpecification>): void {
    this.#files = specifications.length;
    this.#finished = 0;
  }

  onTestModuleEnd(module: TestModule): void {
    this.#finished += 1;
    const tests = Array.from(module.children.allTests());
    const failed = tests.filter((test) => test.result().state === "failed").length;
    const skipped = tests.filter((test) => test.result().state === "skipped").length;
    const counts = [`${tests.length} test${tests.length === 1 ? "" : "s"}`];
    if (failed > 0) counts.push(`${failed} failed`);
    if (skipped > 0) counts.push(`${skipped} skipped`);
    counts.push(`${(module.diagnostic().duration / 1000).toFixed(1)} s`);
    const mark = module.state() === "failed" ? "✗" : "✓";
    const file = `${module.project.name} ${module.relativeModuleId}`;
    this.#vitest?.logger.log(`${mark} ${this.#finished}/${this.#files} ${file}: ${counts.join(", ")}`);
  }
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  costPico, estimateMicros, estimatePico, formatUsd, loadPricingFile, parsePricing, PricingError, settleMicros, type TokenUsage,
} from '../../src/pricing/table.js';

/** The real LiteLLM table (CONTRACT §4.9); expectations below are computed by hand from its prices. */
const TABLE = loadPricingFile('/work/shared/data/litellm/model_prices_and_context_window.json');

const usage = (input: number, output: number, cachedInput = 0, cacheCreation = 0): TokenUsage => ({ input, output, cachedInput, cacheCreation, total: input + output });

function price(model: string): NonNullable<ReturnType<typeof TABLE.get>> {
  const p = TABLE.get(model);
  assert.ok(p, `${model} is priced`);
  return p;
}

test('loads the real table: token-priced entries only (sample_spec, image, per-second and per-character models skipped)', () => {
  assert.ok(TABLE.size > 1000, `size ${TABLE.size}`);
  assert.equal(TABLE.has('sample_spec'), false);
  assert.equal(TABLE.has('dall-e-3'), false);
  assert.equal(TABLE.has('whisper-1'), false);
  assert.equal(TABLE.has('tts-1'), false);
  assert.equal(TABLE.has('openai/gpt-4o-mini'), true, 'a provider/ prefix falls back to the bare name');
});

test('gpt-4o-mini with cached prompt tokens, as LiteLLM prices it', () => {
  // in 1.5e-7, cache read 7.5e-8, out 6e-7 USD/token.
  // 1000 prompt (400 cached), 200 completion: 600×0.15 + 400×0.075 + 200×0.6 = 90 + 30 + 120 = 240 micro-USD.
  const pico = costPico(price('gpt-4o-mini'), usage(1000, 200, 400), undefined);
  assert.equal(pico, 240_000_000n);
  assert.equal(formatUsd(pico), '0.00024');
  assert.equal(settleMicros(pico), 240);
  // service_tier priority: in 2.5e-7, cache read 1.25e-7, out 1e-6: 600×0.25 + 400×0.125 + 200×1 = 150 + 50 + 200 = 400.
  assert.equal(costPico(price('gpt-4o-mini'), usage(1000, 200, 400), 'priority'), 400_000_000n);
});

test('claude-3-5-sonnet-20241022 with cache reads and cache writes', () => {
  // in 3e-6, out 1.5e-5, cache read 3e-7, cache creation 3.75e-6.
  // input 1000 (200 cached), 100 written to cache, output 50:
  // 800×3 + 200×0.3 + 50×15 + 100×3.75 = 2400 + 60 + 750 + 375 = 3585 micro-USD.
  const pico = costPico(price('claude-3-5-sonnet-20241022'), usage(1000, 50, 200, 100), undefined);
  assert.equal(formatUsd(pico), '0.003585');
  assert.equal(settleMicros(pico), 3585);
});

test('gpt-4.1-nano: sub-micro per-token prices stay exact (pico-USD), rounded once per request', () => {
  // in 1e-7 (0.1 micro), cache read 2.5e-8, out 4e-7: 4×0.1 + 3×0.025 + 5×0.4 = 2.475 micro-USD.
  // Per-token micros (round(usd×1e6)) would price this at 0×4 + 0×3 + 0×5 = 0.
  const pico = costPico(price('gpt-4.1-nano'), usage(7, 5, 3), undefined);
  assert.equal(pico, 2_475_000n);
  assert.equal(formatUsd(pico), '0.000002475');
  assert.equal(settleMicros(pico), 2);
  assert.equal(estimateMicros(pico), 3, 'reservations round up');
});

test('tiers above N tokens and flex service tier', () => {
  // gemini-1.5-pro above 128k input: in 2.5e-6, out 1e-5: 200000×2.5 + 1000×10 = 510000 micro-USD.
  assert.equal(settleMicros(costPico(price('gemini-1.5-pro'), usage(200_000, 1000), undefined)), 510_000);
  // at or below the threshold: in 1.25e-6, out 5e-6: 128000×1.25 + 1000×5 = 165000.
  assert.equal(settleMicros(costPico(price('gemini-1.5-pro'), usage(128_000, 1000), undefined)), 165_000);
  // o3 flex: in 1e-6, out 4e-6: 100×1 + 10×4 = 140.
  assert.equal(settleMicros(costPico(price('o3'), usage(100, 10), 'flex')), 140);
  // estimate: input_est × in + max_output × out (gpt-4o: 2.5e-6 / 1e-5): 40×2.5 + 16×10 = 260.
  assert.equal(estimateMicros(estimatePico(price('gpt-4o'), 40, 16, undefined)), 260);
});

test('per-1k prices, skipped entries, and invalid prices', () => {
  const t = parsePricing({
    m1: { input_cost_per_1k_tokens: 0.002, output_cost_per_1k_tokens: 0.004 },
    img: { output_cost_per_image: 0.04 },
    junk: 'x',
  });
  assert.equal(t.size, 1);
  assert.equal(costPico(t.get('m1') as NonNullable<ReturnType<typeof t.get>>, usage(1000, 1000), undefined), 6_000_000_000n);
  assert.throws(() => parsePricing({ m: { input_cost_per_token: -1 } }), PricingError);
  assert.throws(() => parsePricing([]), PricingError);
  assert.throws(() => loadPricingFile('/nonexistent/prices.json'), PricingError);
});

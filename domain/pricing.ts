// Price tables are identified by the hash of their prices, so a charge names exactly the
// prices it was computed with ("by hash"), whatever the table's human version label says. The
// tables themselves, the default one and the charge computation: domain/price-table.ts.
import { canonicalHash } from './hashing.ts';
import type { HashedPriceTable, PriceTable } from './price-table.ts';

export {
  computeChargeMicros,
  defaultPriceTable,
  FALLBACK_MODEL,
  type HashedPriceTable,
  type ModelPrice,
  modelPriceSchema,
  type PriceModels,
  type PriceTable,
  priceFor,
  priceModelsSchema,
  priceTableSchema,
} from './price-table.ts';

/** sha256 of the RFC 8785 canonical JSON of the prices (`models`); the version label is not hashed. */
export function priceTableHash(table: Pick<PriceTable, 'models'>): string {
  return canonicalHash(table.models);
}

export function withPriceTableHash(table: PriceTable): HashedPriceTable {
  return { version: table.version, hash: priceTableHash(table), models: table.models };
}

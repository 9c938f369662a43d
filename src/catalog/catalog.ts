import type { CatalogItem } from './catalog-item.js';

/** An in-memory, read-only view of a catalog snapshot. */
export class Catalog {
  private readonly byId: ReadonlyMap<number, CatalogItem>;

  private constructor(items: readonly CatalogItem[]) {
    this.byId = new Map(items.map((item) => [item.id, Object.freeze(item)]));
  }

  /** Build a catalog from items already in this project's shape. */
  static fromItems(items: readonly CatalogItem[]): Catalog {
    return new Catalog(items);
  }

  /** The item with this id, or undefined when the catalog has none. */
  get(id: number): CatalogItem | undefined {
    return this.byId.get(id);
  }

  /** Every item, in id order. */
  items(): CatalogItem[] {
    return [...this.byId.values()].sort((a, b) => a.id - b.id);
  }

  get size(): number {
    return this.byId.size;
  }
}

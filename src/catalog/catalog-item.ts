import type { ProductType } from '../api/order.js';

/** A free-text input of an item's form. */
export interface TextField {
  kind: 'text';
  /** The key used in the order's `fields` object. */
  name: string;
  label: string;
  required: boolean;
}

/** One option of a choice field. The API takes the numeric `id`; it echoes the `label`. */
export interface ChoiceOption {
  id: number;
  label: string;
}

/** A choice input of an item's form. */
export interface ChoiceField {
  kind: 'choice';
  name: string;
  label: string;
  required: boolean;
  options: ChoiceOption[];
}

export type CatalogField = TextField | ChoiceField;

/**
 * One catalog item, in this project's own names. The snapshot's JSON key names are mapped into
 * this shape in exactly one place (`catalog-record.ts`).
 */
export interface CatalogItem {
  id: number;
  name: string;
  productType: ProductType;
  /** Unit price in major currency units: per key for `key`, per unit of amount for `topup`, whole price for `service`. */
  price: number;
  /** Subscriber unit price, when the snapshot has one. */
  subscriberPrice: number | null;
  /** Units in stock; null when the snapshot does not say (unlimited). 0 = out of stock. */
  stock: number | null;
  /** Smallest quantity accepted (integer for key, decimal amount for topup, 1 for service). */
  minQuantity: number;
  /** Largest quantity accepted. */
  maxQuantity: number;
  fields: CatalogField[];
}

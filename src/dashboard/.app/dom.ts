/** Something that can go inside an element; null, undefined and false are skipped. */
export type Child = Node | string | null | undefined | false;

/** Attributes; `class` sets the class list, true sets an empty attribute, false/undefined/null set nothing. */
export type Attributes = Readonly<Record<string, string | number | boolean | null | undefined>>;

/**
 * Creates an element with attributes and children. Text always goes in as text
 * nodes, never as HTML, so data from the server cannot inject markup.
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: (Child | readonly Child[])[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

/** Replaces an element's children. */
export function setChildren(parent: Element, ...children: (Child | readonly Child[])[]): void {
  parent.replaceChildren();
  append(parent, children);
}

function append(parent: Element, children: readonly (Child | readonly Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child);
  }
}

/** The element with this id, checked to be of the expected class. */
export function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`the page has no ${type.name} #${id}`);
  return element;
}

/** The first element matching `selector` inside `root`, checked to be of the expected class. */
export function within<T extends Element>(root: ParentNode, selector: string, type: new () => T): T {
  const element = root.querySelector(selector);
  if (!(element instanceof type)) throw new Error(`the page has no ${type.name} ${selector}`);
  return element;
}

/** Options of a select from (value, label) pairs, keeping the current choice when it is still offered. */
export function setOptions(select: HTMLSelectElement, options: readonly (readonly [value: string, label: string])[], preferred?: string): void {
  const current = preferred ?? select.value;
  setChildren(
    select,
    options.map(([value, label]) => h("option", { value }, label)),
  );
  if (options.some(([value]) => value === current)) select.value = current;
}

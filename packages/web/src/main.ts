/** The page's entry point: finds the page's elements and starts the app. */
const root = document.querySelector<HTMLElement>('#app');
if (root) root.dataset['state'] = 'start';

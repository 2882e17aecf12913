import { registry } from "@web/core/registry";

const CONFIGURATION_MENU = 'button[data-menu-xmlid="account.menu_finance_configuration"]';

function openBaswareMenu(menu, content) {
    return [
        { content, trigger: CONFIGURATION_MENU, run: "click" },
        { trigger: `a[data-menu-xmlid="basware_connector.${menu}"]`, run: "click" },
    ];
}

const SCREENSHOT_SETTLE_MS = 500;

// Tells the test to photograph the screen for the README (when it is asked to), once
// ``trigger`` shows and the notifications are closed.
function screenshot(name, trigger) {
    return [
        {
            content: "Close the notifications",
            trigger: "body",
            run() {
                document.querySelectorAll(".o_notification_close").forEach((button) => button.click());
            },
        },
        { trigger: "body:not(:has(.o_notification))" },
        {
            content: `Screenshot: ${name}`,
            trigger,
            async run() {
                console.info(`basware-screenshot:${name}`);
                await new Promise((resolve) => setTimeout(resolve, SCREENSHOT_SETTLE_MS));
            },
        },
    ];
}

// What an administrator does from a new backend to a bill posted from Basware. The test
// sets window.bwTour (its Basware sandbox's URL and API client) before the tour starts.
registry.category("web_tour.tours").add("basware_admin_tour", {
    steps: () => {
        // Read when the step runs: the steps are built before the test sets window.bwTour.
        const editWith = (key, suffix = "") => ({
            async run(actions) {
                await actions.edit(window.bwTour[key] + suffix);
            },
        });
        return [
            // 1. create a backend
            { content: "Create a Basware backend", trigger: ".o_list_button_add", run: "click" },
            { trigger: ".o_field_widget[name=name] input", run: "edit Basware Tour" },
            { trigger: ".o_field_widget[name=basware_company_code] input", run: "edit C100" },
            { trigger: ".o_field_widget[name=api_url] input", ...editWith("sandboxUrl") },
            {
                trigger: ".o_field_widget[name=token_url] input",
                ...editWith("sandboxUrl", "/v1/tokens"),
            },
            // 2. enter the credentials
            {
                content: "Enter the API client of the Basware tenant",
                trigger: ".o_field_widget[name=client_id] input",
                ...editWith("clientId"),
            },
            {
                trigger: ".o_field_widget[name=client_secret] input",
                ...editWith("clientSecret"),
            },
            // 3. test the connection (the form is saved first)
            {
                content: "Test the connection",
                trigger: "button[name=action_test_connection]",
                run: "click",
            },
            { trigger: ".o_notification:contains(Connection test succeeded)" },
            ...screenshot("backend", ".o_form_view .badge:contains(Connected)"),
            // 4. sync now: vendors, accounts, taxes, orders out; invoices in
            { content: "Sync now", trigger: "button[name=action_sync_now]", run: "click" },
            { trigger: ".o_notification:contains(invoice(s) received from Basware)" },
            // 5. the dashboard
            ...openBaswareMenu("basware_dashboard_menu", "Open the Basware dashboard"),
            {
                content: "The card counts the failed exchanges",
                trigger: ".o_kanban_record:contains(Basware Tour) .o_basware_failed.text-warning",
            },
            ...screenshot("dashboard", ".o_kanban_record:contains(Basware Tour) table"),
            // 6. open a failed exchange
            {
                trigger: ".o_kanban_record:contains(Basware Tour) .o_basware_failed",
                run: "click",
            },
            {
                content: "Open the failed invoice import",
                trigger: ".o_data_row:contains(Accounting Document) td[name=name]",
                run: "click",
            },
            {
                content: "It names the cost center Odoo cannot map",
                trigger: ".o_field_widget[name=error_message]:contains(CC-TOUR)",
            },
            // 7. fix the mapping
            ...openBaswareMenu("basware_unmapped_code_menu", "Open the unmapped codes"),
            ...screenshot("unmapped_codes", ".o_data_row:contains(CC-TOUR)"),
            {
                content: "Map the cost center",
                trigger: ".o_data_row:contains(CC-TOUR) button[name=action_map]",
                run: "click",
            },
            {
                trigger: ".modal .o_field_widget[name=analytic_account_id] input",
                run: "edit Tour Cost",
            },
            { trigger: ".o-autocomplete--dropdown-item:contains(Tour Cost Center)", run: "click" },
            { content: "Save the mapping", trigger: ".modal button.o_basware_map_only", run: "click" },
            { trigger: "body:not(:has(.modal))" },
            // 8. replay the invoice
            {
                content: "Open the invoices waiting on it",
                trigger: ".o_data_row:contains(CC-TOUR) button[name=action_open_waiting]",
                run: "click",
            },
            { trigger: ".o_data_row:contains(Accounting Document) td[name=name]", run: "click" },
            { content: "Replay it", trigger: "button[name=action_replay]", run: "click" },
            {
                content: "Run it now rather than at the next scheduled run",
                trigger: "button[name=action_process_now]",
                run: "click",
            },
            // 9. the posted bill
            {
                content: "Open the bill",
                trigger: "button[name=action_open_record]",
                run: "click",
            },
            {
                content: "The bill is posted, with its Basware invoice id",
                trigger: ".o_statusbar_status .o_arrow_button_current:contains(Posted)",
            },
            {
                content: "It links to the Basware invoice it comes from",
                trigger: "button[name=action_open_basware_document]",
            },
            ...screenshot("bill", ".o_form_view .o_statusbar_status"),
        ];
    },
});
